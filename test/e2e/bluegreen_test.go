//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/appobject"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/release"
)

const blueGreenNS = "e2e-bluegreen"

// blueGreenApp releases hello blue-green over three pods, keeping the old version
// scaled for 10 s after the switch.
const blueGreenApp = `profiles: [go-service]
build: {buildType: go, artifact: hello}
deploy:
  namespace: e2e-bluegreen-hello
  releaseType:
    deployTimeout: 120
    strategy: blueGreen
    blueGreen: {scaleDownDelay: 10s}
  helm:
    values:
      scaling: {enabled: false, min: 3}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [dev-local]}]}
`

// testBlueGreen switches hello from 3.0.0 to 3.2.0 blue-green under load from a bounded
// generator (a new connection per request): not one request fails, the old version
// answers every request until the switch and none a few seconds after it, and the
// preview is gone at the end.
func (e *clusterEnv) testBlueGreen(t *testing.T) {
	// Its own webhook: the engine test's controller is gone, and its webhook with it.
	ctx := e.runController(t, blueGreenNS, "127.0.0.1:19446")
	c, err := kubeclient.Ferry(e.rc)
	must(t, err)
	e.createApp(t, c, blueGreenNS, blueGreenApp)
	// The engine and canary tests build these too; this one may run alone.
	e.buildImage(t, "./examples/hello/smoke", "hello-smoke:1", "")
	e.buildImage(t, "./examples/hello", "hello:3.0.0", "-X main.version=3.0.0")
	e.buildImage(t, "./examples/hello", "hello:3.2.0", "-X main.version=3.2.0")
	v1 := e.release(t, c, blueGreenNS, "3.0.0")
	e.waitPhase(t, c, blueGreenNS, v1.Name+"-dev", ferryv1.PromotionSucceeded, 3*time.Minute)
	svc, err := e.cs.CoreV1().Services("e2e-bluegreen-hello").Get(ctx, "hello", metav1.GetOptions{})
	must(t, err)
	e.answers(t, "e2e-bluegreen-hello", "3.0.0")

	ld := startLoad("http://"+svc.Spec.ClusterIP+"/info", 40, 4*time.Minute)
	defer ld.stop()
	time.Sleep(2 * time.Second)
	v2 := e.release(t, c, blueGreenNS, "3.2.0")
	p := e.waitPhase(t, c, blueGreenNS, v2.Name+"-dev", ferryv1.PromotionSucceeded, 4*time.Minute)
	time.Sleep(3 * time.Second) // the preview's pods end while the load goes on
	ld.stop()
	bg := p.Status.BlueGreen
	if bg == nil || bg.Phase != ferryv1.BlueGreenFinished || bg.SwitchedAt == nil || bg.PreviousVersion != "3.0.0" || bg.ActiveVersion != "3.2.0" {
		t.Fatalf("blue-green status: %+v", bg)
	}
	t.Logf("blue-green 3.0.0 -> 3.2.0 under load: %s; deploy: %s", ld.summary(), checkpointMessage(p, ferryv1.StepDeploy))
	if n := ld.failures(); n != 0 {
		t.Errorf("%d requests failed during the blue-green release, want 0", n)
	}
	switched := bg.SwitchedAt.Time
	if first := ld.firstAnsweredBy("3.2.0"); first.IsZero() || first.Before(switched.Add(-time.Second)) {
		t.Errorf("3.2.0 first answered at %s, the switch was at %s", first.Format(time.RFC3339Nano), switched.Format(time.RFC3339Nano))
	}
	if last := ld.lastAnsweredBy("3.0.0"); last.After(switched.Add(5 * time.Second)) {
		t.Errorf("3.0.0 still answered %s after the switch", last.Sub(switched))
	} else {
		t.Logf("3.0.0 answered last %s after the switch", last.Sub(switched).Round(time.Millisecond))
	}
	for _, get := range []func() error{
		func() error {
			_, err := e.cs.AppsV1().Deployments("e2e-bluegreen-hello").Get(ctx, "hello-preview", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := e.cs.CoreV1().Services("e2e-bluegreen-hello").Get(ctx, "hello-preview", metav1.GetOptions{})
			return err
		},
	} {
		if err := get(); !apierrors.IsNotFound(err) {
			t.Errorf("the preview is still there: %v", err)
		}
	}
	svc, err = e.cs.CoreV1().Services("e2e-bluegreen-hello").Get(ctx, "hello", metav1.GetOptions{})
	must(t, err)
	if _, pinned := svc.Spec.Selector["app.kubernetes.io/version"]; pinned {
		t.Errorf("the active Service still selects a version: %v", svc.Spec.Selector)
	}
	e.answers(t, "e2e-bluegreen-hello", "3.2.0")
	previewLog := e.previewTestsLog(t, ctx, p)
	if !strings.Contains(previewLog, "http://hello-preview.e2e-bluegreen-hello/info answers 3.2.0") {
		t.Errorf("the tests before the switch did not ask the preview:\n%s", previewLog)
	}

	t.Run("tests that fail against the preview stop the switch", func(t *testing.T) {
		ld := startLoad("http://"+svc.Spec.ClusterIP+"/info", 40, 4*time.Minute)
		defer ld.stop()
		// 3.4.0 is hello 3.2.0's image: the tests, which want the answer 3.4.0, fail.
		bad, err := release.Create(ctx, c, release.Registry{}, release.Options{Namespace: blueGreenNS, Application: "hello", Version: "3.4.0",
			Image: e.cfg.RegistryAddr + "/hello:3.2.0", TestsImage: e.cfg.RegistryAddr + "/hello-smoke:1"})
		must(t, err)
		failed := e.waitPhase(t, c, blueGreenNS, bad.Name+"-dev", ferryv1.PromotionFailed, 4*time.Minute)
		time.Sleep(2 * time.Second)
		ld.stop()
		bg := failed.Status.BlueGreen
		if bg == nil || bg.Phase != ferryv1.BlueGreenAborted || bg.SwitchedAt != nil ||
			!strings.Contains(failed.Status.Message, "the tests against the preview failed: hook preview-tests") {
			t.Errorf("blue-green %+v; message %s", bg, failed.Status.Message)
		}
		if n := ld.failures(); n != 0 || ld.versions["3.2.0"] == 0 || len(ld.versions) != 1 {
			t.Errorf("while the preview was tested: %s (want every request answered by 3.2.0)", ld.summary())
		}
		t.Logf("3.4.0: %s; load: %s", failed.Status.Message, ld.summary())
		if log := e.previewTestsLog(t, ctx, failed); !strings.Contains(log, "FAIL 1/5") {
			t.Errorf("the failing tests' log:\n%s", log)
		}
		e.answers(t, "e2e-bluegreen-hello", "3.2.0")
	})

	t.Run("a failure after the switch rolls back by switching the Service back", func(t *testing.T) {
		// 3.5.0 passes its tests against the preview; the post-deploy hook added to the
		// app file for it asks a Service that does not exist, and fails after the switch.
		e.buildImage(t, "./examples/hello", "hello:3.5.0", "-X main.version=3.5.0")
		withHook := strings.Replace(blueGreenApp, "  releaseType:", "  postDeploy:\n    - job: {name: check, image: "+e.cfg.RegistryAddr+
			"/hello-smoke:1, env: {HELLO_URL: \"http://hello-nowhere/info\"}}\n  releaseType:", 1)
		f, err := appfile.LoadBytes("ferry.yml", []byte(withHook), e.repo, appfile.Options{})
		must(t, err)
		built, err := appobject.Build(f, blueGreenNS, nil)
		must(t, err)
		app := &ferryv1.Application{}
		must(t, c.Get(ctx, client.ObjectKey{Namespace: blueGreenNS, Name: "hello"}, app))
		app.Spec.AppFile = built.Spec.AppFile
		must(t, c.Update(ctx, app))
		ld := startLoad("http://"+svc.Spec.ClusterIP+"/info", 40, 4*time.Minute)
		defer ld.stop()
		bad := e.release(t, c, blueGreenNS, "3.5.0")
		failed := e.waitPhase(t, c, blueGreenNS, bad.Name+"-dev", ferryv1.PromotionFailed, 4*time.Minute)
		time.Sleep(2 * time.Second)
		ld.stop()
		bg := failed.Status.BlueGreen
		if bg == nil || bg.Phase != ferryv1.BlueGreenSwitchedBack || bg.SwitchedAt == nil || bg.SwitchedBackAt == nil || bg.ActiveVersion != "3.2.0" ||
			!strings.Contains(failed.Status.Message, "hook check") || !strings.Contains(failed.Status.Message, "rolled back to 3.2.0") {
			t.Fatalf("blue-green %+v; message %s", bg, failed.Status.Message)
		}
		back := bg.SwitchedBackAt.Time
		last := ld.lastAnsweredBy("3.5.0")
		t.Logf("3.5.0: %s; load: %s; switched at %s, back %s later; 3.5.0 answered last %s after the switch back",
			failed.Status.Message, ld.summary(), bg.SwitchedAt.Format(time.RFC3339Nano), back.Sub(bg.SwitchedAt.Time).Round(time.Millisecond), last.Sub(back).Round(time.Millisecond))
		if n := ld.failures(); n != 0 || ld.versions["3.5.0"] == 0 {
			t.Errorf("want every request answered and 3.5.0 seen between the switches: %s", ld.summary())
		}
		if last.After(back.Add(3 * time.Second)) {
			t.Errorf("3.5.0 still answered %s after the switch back", last.Sub(back))
		}
		e.answers(t, "e2e-bluegreen-hello", "3.2.0")
	})
}

// previewTestsLog is the kept log of the tests run against a blue-green preview.
func (e *clusterEnv) previewTestsLog(t *testing.T, ctx context.Context, p *ferryv1.Promotion) string {
	t.Helper()
	for _, h := range p.Status.Hooks {
		if h.Step != ferryv1.StepDeploy || h.Name != "preview-tests" {
			continue
		}
		var out strings.Builder
		for _, name := range h.Logs {
			cm, err := e.cs.CoreV1().ConfigMaps(p.Namespace).Get(ctx, name, metav1.GetOptions{})
			must(t, err)
			for _, v := range cm.Data {
				out.WriteString(v)
			}
		}
		return out.String()
	}
	t.Errorf("no preview-tests hook in %+v", p.Status.Hooks)
	return ""
}
