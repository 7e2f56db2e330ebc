//go:build integration

package promotion_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	answercli "ferry.dev/ferry/internal/cli/answer"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

const plainApp = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-ext
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestExtensions subscribes outside services to the post-deploy step with Extension
// objects: the one for this app and stage is called (signed) after the deploy and
// keeps the step waiting until `ferry answer` gives its result; the ones for another
// application or stage are not called; an Extension that never answers fails the step
// at its timeout, naming it, and the stage rolls back.
func TestExtensions(t *testing.T) {
	rc := testenv.Start(t, "../../../config/crd")
	rv := &receiver{answers: map[string][]int{"/perf": {202}, "/silent": {202}, "/other": {200}}, calls: map[string][]call{}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	ctx := context.Background()
	startController(t, rc)
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	_, err = cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook-secret"},
		Data: map[string][]byte{"secret": []byte(signingKey)}}, metav1.CreateOptions{})
	must(t, err)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: plainApp, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	extension := func(name, path string, stages, apps []string, timeout int32) {
		must(t, c.Create(ctx, &ferryv1.Extension{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: ferryv1.ExtensionSpec{Step: ferryv1.StepPostDeploy, Stages: stages, Applications: apps, URL: srv.URL + path,
				SecretRef: &ferryv1.SecretKeyRef{Name: "hook-secret"}, TimeoutSeconds: timeout}}))
	}
	extension("perf", "/perf", []string{"dev"}, []string{"web"}, 120)
	extension("shop-only", "/other", nil, []string{"shop"}, 120)
	extension("prod-only", "/other", []string{"prod"}, nil, 120)
	kubeconfig := testenv.Kubeconfig(t, rc)
	ferryAnswer := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := answercli.NewCommand(iostreams.Streams{Out: &out, Err: &out})
		cmd.SetArgs(append(args, "--kubeconfig", kubeconfig))
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}

	must(t, c.Create(ctx, newReleaseOf(plainApp, "1.0.0", digest)))
	waitDeployed(t, cs, "web-ext", "registry.example.com/web@"+digest)
	reportRolledOut(t, cs, "web-ext", "web")
	p := waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool {
		return hookOf(p, ferryv1.StepPostDeploy, "ext.perf").Phase == ferryv1.HookWaiting
	})
	calls := rv.callsTo("/perf")
	if len(calls) != 1 || calls[0].payload.Hook != "ext.perf" || calls[0].payload.Phase != ferryv1.StepPostDeploy || calls[0].payload.Version != "1.0.0" {
		t.Fatalf("calls to the perf extension: %+v", calls)
	}
	if _, err := ferryAnswer(p.Name, "ext.nope", "--result", "pass"); err == nil ||
		!strings.Contains(err.Error(), "has no hook ext.nope waiting for an answer; its hooks: ext.perf (postDeploy, Waiting)") {
		t.Errorf("answering a hook that does not wait: %v", err)
	}
	if _, err := ferryAnswer(p.Name, "ext.perf", "--result", "maybe"); err == nil || !strings.Contains(err.Error(), "--result") {
		t.Errorf("answering maybe: %v", err)
	}
	out, err := ferryAnswer(p.Name, "ext.perf", "--result", "pass", "--message", "p95 212 ms")
	must(t, err)
	if out != "web-1-0-0-dev: answered ext.perf pass\n" {
		t.Errorf("ferry answer printed %q", out)
	}
	p = waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	if got := hookOf(p, ferryv1.StepPostDeploy, "ext.perf"); got.Message != "answered pass: p95 212 ms" {
		t.Errorf("hook status %+v", got)
	}
	if n := len(rv.callsTo("/other")); n != 0 {
		t.Errorf("extensions of another application or stage were called %d times", n)
	}

	// An Extension that accepts and never answers fails the step at its timeout; the
	// stage goes back to 1.0.0.
	extension("silent", "/silent", nil, nil, 3)
	must(t, c.Create(ctx, newReleaseOf(plainApp, "1.1.0", digest2)))
	waitDeployed(t, cs, "web-ext", "registry.example.com/web@"+digest2)
	reportRolledOut(t, cs, "web-ext", "web")
	p = waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return hookOf(p, ferryv1.StepPostDeploy, "ext.perf").Phase == ferryv1.HookWaiting
	})
	_, err = ferryAnswer(p.Name, "ext.perf", "--result", "pass", "--message", "p95 199 ms")
	must(t, err)
	waitDeployed(t, cs, "web-ext", "registry.example.com/web@"+digest) // rolled back
	reportRolledOut(t, cs, "web-ext", "web")
	p = waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	if got := hookOf(p, ferryv1.StepPostDeploy, "ext.silent"); got.Phase != ferryv1.HookFailed || !strings.Contains(got.Message, "no answer") {
		t.Errorf("silent extension's status %+v", got)
	}
	if !strings.HasPrefix(p.Status.Message, "postDeploy failed: webhook hook ext.silent") {
		t.Errorf("message %q", p.Status.Message)
	}
	if len(rv.callsTo("/silent")) != 1 {
		t.Errorf("silent extension called %d times", len(rv.callsTo("/silent")))
	}

	// Each Extension's status counts the calls of its service and shows the latest.
	wantStatus := map[string]string{
		"perf":      "2 calls, 0 failed, last web-1-1-0-dev (web dev web-1-1-0) Succeeded: answered pass: p95 199 ms",
		"silent":    "1 calls, 1 failed, last web-1-1-0-dev (web dev web-1-1-0) Failed: " + hookOf(p, ferryv1.StepPostDeploy, "ext.silent").Message,
		"shop-only": "0 calls, 0 failed",
		"prod-only": "0 calls, 0 failed",
	}
	for name, want := range wantStatus {
		testenv.Eventually(t, 10*time.Second, func() error {
			e := &ferryv1.Extension{}
			must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, e))
			got := fmt.Sprintf("%d calls, %d failed", e.Status.Calls, e.Status.Failed)
			if l := e.Status.Last; l != nil {
				got += fmt.Sprintf(", last %s (%s %s %s) %s: %s", l.Promotion, l.Application, l.Stage, l.Release, l.Phase, l.Message)
			}
			if got != want {
				return fmt.Errorf("extension %s: %s; want %s", name, got, want)
			}
			if e.Status.ObservedGeneration != e.Generation {
				return fmt.Errorf("extension %s: status of generation %d, at %d", name, e.Status.ObservedGeneration, e.Generation)
			}
			return nil
		})
	}
}

// newReleaseOf is newRelease with another app file.
func newReleaseOf(appFile, version, digest string) *ferryv1.Release {
	rel := newRelease(version, digest)
	rel.Spec.AppFile = appFile
	return rel
}
