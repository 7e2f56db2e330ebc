//go:build integration

package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/gitwebhook"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/server"
	"ferry.dev/ferry/internal/testenv"
)

const appFile = `build: {buildType: go, artifact: hello}
deploy:
  namespace: hello-push
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestRegistryPushBecomesARelease: the registry notifies the server of a push; the
// ImageWatch that follows the repository, whose poll interval is ten minutes, looks at
// once, and the Release exists within 2 s of the push. A notification without the
// registry's token is refused.
func TestRegistryPushBecomesARelease(t *testing.T) {
	rc := testenv.Start(t, "../../config/crd")
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	logs := &lockedBuffer{}
	srv := httptest.NewServer((&server.Server{Client: c, Local: rc, RegistryToken: "registry-token", Log: log.New(logs, "", 0),
		Git: gitwebhook.Config{Secret: []byte("git-secret")}}).Handler())
	defer srv.Close()
	reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{NotifyURL: srv.URL + "/hooks/registry", NotifyToken: "registry-token"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true})
	}()
	defer func() { cancel(); must(t, <-done) }()
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}}}))
	must(t, c.Create(ctx, &ferryv1.ImageWatch{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: ferryv1.ImageWatchSpec{Repository: reg.Addr + "/hello", Semver: ">=1.0", Interval: &metav1.Duration{Duration: 10 * time.Minute},
			Application: "hello", AutoRelease: true}}))
	// A second watch of the repository, joining the first one's poller: it has the
	// poller's result at once, and the push asks both to look.
	must(t, c.Create(ctx, &ferryv1.ImageWatch{ObjectMeta: metav1.ObjectMeta{Name: "hello-mirror", Namespace: "default"},
		Spec: ferryv1.ImageWatchSpec{Repository: reg.Addr + "/hello", Semver: ">=1.0", Interval: &metav1.Duration{Duration: 10 * time.Minute}, Application: "hello"}}))
	for _, name := range []string{"hello", "hello-mirror"} {
		testenv.Eventually(t, 30*time.Second, func() error { // the first poll: nothing yet
			iw := &ferryv1.ImageWatch{}
			must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, iw))
			if len(iw.Status.Conditions) == 0 || iw.Status.Conditions[0].Reason == "Polling" {
				return fmt.Errorf("%s: status %+v", name, iw.Status)
			}
			return nil
		})
	}

	t.Cleanup(func() {
		if t.Failed() {
			iw := &ferryv1.ImageWatch{}
			err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "hello"}, iw)
			t.Logf("the server's log:\n%s\nthe ImageWatch (%v): annotations %v, status %+v", logs.String(), err, iw.Annotations, iw.Status)
		}
	})
	pushed := time.Now()
	reg.Push("hello", "1.2.0")
	testenv.Eventually(t, 10*time.Second, func() error {
		return c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello-1-2-0"}, &ferryv1.Release{})
	})
	took := time.Since(pushed) // an upper bound, polled every few milliseconds
	t.Logf("the push became a Release within %s", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("the Release came %s after the push; want within 2 s", took)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		iw := &ferryv1.ImageWatch{}
		must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello-mirror"}, iw))
		if iw.Status.Tag != "1.2.0" {
			return fmt.Errorf("hello-mirror: status %+v", iw.Status)
		}
		return nil
	})

	// Without the registry's token: refused, and logged without the body.
	resp, err := http.Post(srv.URL+"/hooks/registry", "application/json", strings.NewReader(`{"events":[{"action":"push","target":{"repository":"hello"}}]}`))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(logs.String(), "refused") || strings.Contains(logs.String(), `"events"`) {
		t.Errorf("an unsigned notification: %d; log %q", resp.StatusCode, logs.String())
	}
}

// TestGitWebhooks: a badly signed GitHub push is refused with 401, logged without its
// body, and changes nothing; a signed one, to a server without a build registry, is
// noted on the Application of the repository; with one, it makes the Release of the
// commit to be built (its package the app file's directory), once however often the
// host delivers it; a pull request opened makes the pr Release of its head commit, and
// closed, deletes it with its previews.
func TestGitWebhooks(t *testing.T) {
	rc := testenv.Start(t, "../../config/crd")
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	logs := &lockedBuffer{}
	git := gitwebhook.Config{Secret: []byte("git-secret")}
	noteOnly := httptest.NewServer((&server.Server{Client: c, Local: rc, Log: log.New(logs, "", 0), Git: git}).Handler())
	defer noteOnly.Close()
	builds := httptest.NewServer((&server.Server{Client: c, Local: rc, Log: log.New(logs, "", 0), Git: git, BuildRegistry: "127.0.0.1:5000"}).Handler())
	defer builds.Close()
	ctx := context.Background()
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Source: &ferryv1.AppSource{RepoURL: "https://git.example.com/team/hello.git", Path: "services/hello/ferry.yml"},
			Stages: []ferryv1.StageSpec{{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}}}))
	const sha = "0123456789abcdef0123456789abcdef01234567"
	body := []byte(`{"ref":"refs/heads/main","after":"` + sha + `","deleted":false,
"repository":{"clone_url":"https://git.example.com/team/hello.git","html_url":"https://git.example.com/team/hello","default_branch":"main"},
"head_commit":{"id":"` + sha + `","timestamp":"2026-11-30T04:00:00Z"},"pusher":{"name":"ann"}}`)
	post := func(url, secret string) int { return postEvent(t, url, secret, "push", body) }
	if got := post(builds.URL, "forged"); got != http.StatusUnauthorized || strings.Contains(logs.String(), "0123456789abcdef") {
		t.Errorf("a badly signed push: %d; log %q", got, logs.String())
	}
	if got := post(noteOnly.URL, "git-secret"); got != http.StatusOK {
		t.Errorf("a signed push: %d", got)
	}
	list := &ferryv1.ReleaseList{}
	must(t, c.List(ctx, list))
	if len(list.Items) != 0 {
		t.Errorf("releases made without a build registry: %d", len(list.Items))
	}
	events, err := kubernetes.NewForConfigOrDie(rc).CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=hello,reason=GitTrigger"})
	must(t, err)
	if len(events.Items) != 1 || events.Items[0].Message != "github: release flow for 0123456789ab (push to main branch main); no --build-registry is configured, so no Release is made" {
		t.Errorf("events on the application: %+v", events.Items)
	}

	for range 2 { // a delivery, and the host's redelivery
		if got := post(builds.URL, "git-secret"); got != http.StatusOK {
			t.Errorf("a signed push: %d", got)
		}
	}
	must(t, c.List(ctx, list))
	if len(list.Items) != 1 {
		t.Fatalf("%d releases, want one", len(list.Items))
	}
	rel := list.Items[0]
	if b, g := rel.Spec.Build, rel.Spec.Git; rel.Name != "hello-0-1-0" || rel.Spec.Flow != ferryv1.FlowRelease || b == nil || b.Package != "services/hello" ||
		b.Repository != "127.0.0.1:5000/hello" || g.Commit != sha || g.Branch != "main" || g.RepoURL != "https://git.example.com/team/hello.git" ||
		g.CommittedAt == nil || rel.Annotations[ferryv1.AnnotationCreatedBy] != "github:ann" {
		t.Errorf("release %s: %+v %+v %v", rel.Name, rel.Spec, rel.Spec.Git, rel.Annotations)
	}

	// A pull request opened: the Release of its head commit, flow pr; closed: its
	// previews go, the Release with them.
	pr := func(action string) []byte {
		return []byte(`{"action":"` + action + `","number":7,"pull_request":{"head":{"ref":"feature","sha":"89abcdef0123456789abcdef0123456789abcdef"},
"base":{"ref":"main"},"merged":false},"repository":{"clone_url":"https://git.example.com/team/hello.git","default_branch":"main"},"sender":{"login":"bob"}}`)
	}
	if got := postEvent(t, builds.URL, "git-secret", "pull_request", pr("opened")); got != http.StatusOK {
		t.Errorf("pull request opened: %d", got)
	}
	prRel := &ferryv1.Release{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello-0-1-1"}, prRel))
	if g := prRel.Spec.Git; prRel.Spec.Flow != ferryv1.FlowPR || g.PullRequest == nil || *g.PullRequest != 7 || g.Commit != "89abcdef0123456789abcdef0123456789abcdef" || g.Branch != "feature" {
		t.Errorf("pull request release: %+v %+v", prRel.Spec, prRel.Spec.Git)
	}
	if got := postEvent(t, builds.URL, "git-secret", "pull_request", pr("closed")); got != http.StatusOK {
		t.Errorf("pull request closed: %d", got)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello-0-1-1"}, prRel); !apierrors.IsNotFound(err) {
		t.Errorf("the pull request's release after it closed: %v", err)
	}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello-0-1-0"}, &ferryv1.Release{})) // the main line's stays
}

// postEvent sends a GitHub event signed with the secret and returns the status.
func postEvent(t *testing.T, url, secret, event string, body []byte) int {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, url+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("%s: %d %s", event, resp.StatusCode, b)
	return resp.StatusCode
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
