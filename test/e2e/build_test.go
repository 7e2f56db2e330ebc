//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/controller/release"
	"ferry.dev/ferry/internal/gitbuild"
	"ferry.dev/ferry/internal/gitwebhook"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/server"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

const buildNS = "e2e-build"

// builtApp is the app file of the repository the test makes: hello's own code, built
// from its commit.
const builtApp = `profiles: [go-service]
build: {buildType: go, artifact: hello}
deploy:
  namespace: e2e-build
  releaseType: {deployTimeout: 120}
  helm:
    values:
      scaling: {enabled: false, min: 1}
  stages:
    - {name: dev, namespace: e2e-build-dev, flows: [release, pr], target: [{cluster_id: [dev-local]}]}
`

// testBuildFromCommit: a local git repository holds hello as a module of its own; a
// GitHub push webhook signed with the wrong secret changes nothing; the rightly signed
// one makes a Release of the pushed commit, whose build Job runs `ferry build` in a real
// pod (the builder image, the host's Go toolchain and module cache mounted), pushes the
// image to the dev registry, and dev deploys it: hello answers the Release's version.
// Then a pull request: see previewFromPullRequest.
func (e *clusterEnv) testBuildFromCommit(t *testing.T) {
	ctx := context.Background()
	tc, err := gitbuild.HostToolchain(ctx)
	must(t, err)
	builder, err := gitbuild.PushBuilder(ctx, gitbuild.BuilderOptions{Dir: e.repo, Ref: gitbuild.BuilderRef(e.cfg.RegistryAddr, "e2e"), Version: "e2e", Toolchain: tc})
	must(t, err)
	repo, commit := e.helloRepository(t)
	e.runBuilder(t, &release.Builder{Image: builder.Ref, HostPaths: []string{tc.GOROOT, tc.GOMODCACHE, repo}, HostNetwork: true,
		Env: []corev1.EnvVar{{Name: "GOPROXY", Value: "off"}, {Name: "GOFLAGS", Value: "-mod=readonly"}, {Name: "CGO_ENABLED", Value: "0"}}})
	c, err := kubeclient.Ferry(e.rc)
	must(t, err)
	e.createApp(t, c, buildNS, builtApp)
	app := &ferryv1.Application{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: buildNS, Name: "hello"}, app))
	app.Spec.Source = &ferryv1.AppSource{RepoURL: repo, Path: "ferry.yml"}
	must(t, c.Update(ctx, app))

	srv := httptest.NewServer((&server.Server{Client: c, Local: e.rc, Log: log.New(e2ekit.LogWriter{T: t}, "server: ", 0),
		Git: gitwebhook.Config{Secret: []byte("e2e-git-secret")}, BuildRegistry: e.cfg.RegistryAddr}).Handler())
	defer srv.Close()
	body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","after":%q,"repository":{"clone_url":%q,"default_branch":"main"},
"head_commit":{"id":%q,"timestamp":%q},"pusher":{"name":"e2e"}}`, commit, repo, commit, time.Now().UTC().Format(time.RFC3339)))
	if got := postGitHub(t, srv.URL, "wrong-secret", "push", body); got != http.StatusUnauthorized {
		t.Errorf("a badly signed push: %d", got)
	}
	list := &ferryv1.ReleaseList{}
	must(t, c.List(ctx, list, client.InNamespace(buildNS)))
	if len(list.Items) != 0 {
		t.Fatalf("a badly signed push made %d releases", len(list.Items))
	}
	pushed := time.Now()
	if got := postGitHub(t, srv.URL, "e2e-git-secret", "push", body); got != http.StatusOK {
		t.Fatalf("a signed push: %d", got)
	}
	rel := e.built(t, c, "hello-0-1-0")
	t.Logf("commit %s built into %s in %s", commit[:12], rel.Status.Images[0].Digest, rel.Status.Build.FinishedAt.Sub(rel.Status.Build.StartedAt.Time))
	e.waitPhase(t, c, buildNS, "hello-0-1-0-dev", ferryv1.PromotionSucceeded, 3*time.Minute)
	e.answers(t, "e2e-build-dev", "0.1.0")
	t.Logf("push webhook -> hello 0.1.0 answering in dev: %s", time.Since(pushed).Round(time.Second))
	cm, err := e.cs.CoreV1().ConfigMaps(buildNS).Get(ctx, rel.Status.Build.LogConfigMap, metav1.GetOptions{})
	must(t, err)
	if !bytes.Contains([]byte(cm.Data["log"]), []byte(commit[:12])) {
		t.Errorf("the build log does not name the commit: %q", cm.Data["log"])
	}
	e.previewFromPullRequest(t, c, srv.URL, repo)
}

// previewFromPullRequest: pull request 7, opened from a branch of the repository, makes
// the pr Release of its head commit, which is built and deployed to the preview
// namespace hello-pr-7, where hello answers its version while dev keeps the main line's;
// the pull request closed, the preview namespace and the Release go.
func (e *clusterEnv) previewFromPullRequest(t *testing.T, c client.Client, url, repo string) {
	ctx := context.Background()
	head := commitOnBranch(t, repo, "feature")
	event := func(action string) []byte {
		return []byte(fmt.Sprintf(`{"action":%q,"number":7,"pull_request":{"head":{"ref":"feature","sha":%q},"base":{"ref":"main"},"merged":false},
"repository":{"clone_url":%q,"default_branch":"main"},"sender":{"login":"e2e"}}`, action, head, repo))
	}
	opened := time.Now()
	if got := postGitHub(t, url, "e2e-git-secret", "pull_request", event("opened")); got != http.StatusOK {
		t.Fatalf("pull request opened: %d", got)
	}
	rel := e.built(t, c, "hello-0-1-1")
	if g := rel.Spec.Git; rel.Spec.Flow != ferryv1.FlowPR || g == nil || g.Commit != head || g.PullRequest == nil || *g.PullRequest != 7 {
		t.Fatalf("the pull request's release: %+v %+v", rel.Spec, rel.Spec.Git)
	}
	e.waitPhase(t, c, buildNS, "hello-0-1-1-dev", ferryv1.PromotionSucceeded, 3*time.Minute)
	e.answers(t, "hello-pr-7", "0.1.1")
	t.Logf("pull request opened -> its commit built and hello 0.1.1 answering in hello-pr-7: %s", time.Since(opened).Round(time.Second))
	e.answers(t, "e2e-build-dev", "0.1.0")

	if got := postGitHub(t, url, "e2e-git-secret", "pull_request", event("closed")); got != http.StatusOK {
		t.Fatalf("pull request closed: %d", got)
	}
	e2ekit.Eventually(t, 2*time.Minute, "the preview namespace and release gone", func() error {
		if _, err := e.cs.CoreV1().Namespaces().Get(ctx, "hello-pr-7", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace hello-pr-7: %w", err)
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: buildNS, Name: rel.Name}, &ferryv1.Release{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("release %s: %w", rel.Name, err)
		}
		return nil
	})
	e.answers(t, "e2e-build-dev", "0.1.0")
}

// built waits for the Release's build to succeed and returns the Release; a failed
// build fails the test with its log.
func (e *clusterEnv) built(t *testing.T, c client.Client, name string) *ferryv1.Release {
	t.Helper()
	ctx := context.Background()
	rel := &ferryv1.Release{}
	e2ekit.Eventually(t, 5*time.Minute, "the build of release "+name, func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: buildNS, Name: name}, rel); err != nil {
			return err
		}
		if b := rel.Status.Build; b == nil || b.Phase != ferryv1.BuildSucceeded {
			if b != nil && b.Phase == ferryv1.BuildFailed {
				cm, _ := e.cs.CoreV1().ConfigMaps(buildNS).Get(ctx, b.LogConfigMap, metav1.GetOptions{})
				t.Fatalf("build failed: %s\nits log:\n%s", b.Message, cm.Data["log"])
			}
			return fmt.Errorf("build %+v", rel.Status.Build)
		}
		return nil
	})
	return rel
}

// commitOnBranch commits a change on a new branch of the repository and returns the
// commit; the branch stays checked out.
func commitOnBranch(t *testing.T, dir, branch string) string {
	t.Helper()
	r, err := git.PlainOpen(dir)
	must(t, err)
	w, err := r.Worktree()
	must(t, err)
	must(t, w.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Create: true}))
	must(t, os.WriteFile(filepath.Join(dir, "CHANGES"), []byte("a change under review\n"), 0o644))
	_, err = w.Add("CHANGES")
	must(t, err)
	h, err := w.Commit("a change under review", &git.CommitOptions{Author: &object.Signature{Name: "e2e", Email: "e2e@ferry.test", When: time.Now()}})
	must(t, err)
	return h.String()
}

// helloRepository makes a git repository outside /tmp (a build pod's /tmp is its own)
// holding hello as a module of its own, its go.sum made offline, and returns its path
// and the commit.
func (e *clusterEnv) helloRepository(t *testing.T) (string, string) {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "ferry-e2e-repo-")
	must(t, err)
	must(t, os.Chmod(dir, 0o755)) // the builder does not run as root
	t.Cleanup(func() { os.RemoveAll(dir) })
	src, err := os.ReadFile(filepath.Join(e.repo, "examples/hello/main.go"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "ferry.yml"), []byte(builtApp), 0o644))
	// hello needs client_golang: the version this module uses, which the module cache
	// holds, so go mod tidy completes go.mod and go.sum offline.
	v, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/prometheus/client_golang").Output()
	must(t, err)
	mod := "module example.com/hello\n\ngo 1.24\n\nrequire github.com/prometheus/client_golang " + strings.TrimSpace(string(v)) + "\n"
	must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644))
	sums, err := os.ReadFile(filepath.Join(e.repo, "go.sum")) // checksums known here: no lookup
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "go.sum"), sums, 0o644))
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir, tidy.Env = dir, append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy offline: %v\n%s", err, out)
	}
	r, err := git.PlainInit(dir, false)
	must(t, err)
	w, err := r.Worktree()
	must(t, err)
	must(t, w.AddGlob("."))
	h, err := w.Commit("hello, built by Ferry", &git.CommitOptions{Author: &object.Signature{Name: "e2e", Email: "e2e@ferry.test", When: time.Now()}})
	must(t, err)
	return dir, h.String()
}

// runBuilder runs the controller, for the build namespace, with the builder and its
// admission webhook (the API server asks the last one installed about Promotions).
func (e *clusterEnv) runBuilder(t *testing.T, b *release.Builder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, e.rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", Namespace: buildNS, SeveralPerProcess: true, Builder: b,
			WebhookAddr: "127.0.0.1:19451"})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
}

// postGitHub sends a GitHub event signed with the secret and returns the status.
func postGitHub(t *testing.T, url, secret, event string, body []byte) int {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, url+"/hooks/github", bytes.NewReader(body))
	must(t, err)
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
