//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/cli/analysis"
	"ferry.dev/ferry/internal/devcluster"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/release"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

const canaryNS = "e2e-canary"

// canaryApp releases hello as a canary over four pods: one pod (25%), a measured
// interval, two pods (50%), another, then all. No hooks: the analysis is the gate.
const canaryApp = `profiles: [go-service]
build: {buildType: go, artifact: hello}
deploy:
  namespace: e2e-canary-hello
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary:
      steps:
        - setWeight: 25
        - analysis: {templates: [hello-errors], measurements: 2}
        - setWeight: 50
        - analysis: {templates: [hello-errors]}
  helm:
    values:
      scaling: {enabled: false, min: 4}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [dev-local]}]}
`

// errorsTemplate judges the canary's share of 5xx answers over each interval. A canary
// without a single error has no 5xx series at all: "or vector(0)" makes that a 0, so
// a healthy canary is measured rather than left without data.
var errorsTemplate = &ferryv1.AnalysisTemplate{
	ObjectMeta: metav1.ObjectMeta{Name: "hello-errors", Namespace: canaryNS},
	Spec: ferryv1.AnalysisTemplateSpec{
		SLIs: map[string]string{
			"error_rate": `(sum(rate(hello_requests_total{$canarySelector,code=~"5.."}[$interval])) or vector(0)) / sum(rate(hello_requests_total{$canarySelector}[$interval]))`,
			"requests":   `sum(rate(hello_requests_total{$canarySelector}[$interval]))`,
		},
		SLO: `spec_version: "1.0"
objectives:
  - sli: error_rate
    key_sli: true
    pass: [{criteria: ["<=0.05"]}]
  - sli: requests
total_score: {pass: "90%", warning: "75%"}
`,
		Interval: &metav1.Duration{Duration: 30 * time.Second},
		// The judge compares the canary's pods with the baseline's over the same
		// interval: 5xx answers per second over 10 s windows, sampled every second. A pod
		// that answered but never failed counts 0 (its other series times 0); a pod not
		// yet scraped twice gives no sample: fresh canary and baseline pods have about 20
		// of the 31.
		Judge: &ferryv1.JudgeSpec{Step: &metav1.Duration{Duration: time.Second}, MinSamples: 8, Metrics: []ferryv1.JudgeMetric{
			{Name: "errors_per_second", Critical: true,
				Query: `sum(rate(hello_requests_total{$selector,code=~"5.."}[10s]) or rate(hello_requests_total{$selector}[10s]) * 0)`},
		}},
	},
}

// testCanary runs hello's canaries on the real node under load from a bounded
// generator, with the real Prometheus scraping the pods. 3.0.0 is the first release (a
// plain rollout: nothing to compare with). 3.1.0 fails a fifth of its requests: its
// first analysis fails, its pod goes and 3.0.0 has all the traffic again, and the stage
// rolls back. 3.2.0 is healthy: every step passes and it takes the stage. 3.3.0's
// analysis runs while Prometheus is stopped: inconclusive, and never a pass.
func (e *clusterEnv) testCanary(t *testing.T) {
	// Its own webhook: the engine test's controller is gone, and its webhook with it.
	ctx := e.runController(t, canaryNS, "127.0.0.1:19445")
	c, err := kubeclient.Ferry(e.rc)
	must(t, err)
	e.createApp(t, c, canaryNS, canaryApp)
	cl := &ferryv1.Cluster{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: canaryNS, Name: "dev-local"}, cl))
	cl.Spec.PrometheusURL = "http://" + e.cfg.PrometheusAddr
	must(t, c.Update(ctx, cl))
	must(t, c.Create(ctx, errorsTemplate.DeepCopy()))

	e.buildImage(t, "./examples/hello", "hello:3.2.0", "-X main.version=3.2.0")
	e.buildImage(t, "./examples/hello", "hello:3.3.0", "-X main.version=3.3.0")
	e.buildImage(t, "./examples/hello", "hello:3.1.0-canary", "-X main.version=3.1.0", "HELLO_ERROR_RATE=0.2")
	v1 := e.release(t, c, canaryNS, "3.0.0")
	p := e.waitPhase(t, c, canaryNS, v1.Name+"-dev", ferryv1.PromotionSucceeded, 3*time.Minute)
	if p.Status.Canary != nil {
		t.Errorf("the first release has nothing to compare with, yet ran a canary: %+v", p.Status.Canary)
	}
	svc, err := e.cs.CoreV1().Services("e2e-canary-hello").Get(ctx, "hello", metav1.GetOptions{})
	must(t, err)
	url := "http://" + svc.Spec.ClusterIP + "/info"

	t.Run("a canary failing a fifth of its requests is stopped and the stage rolls back", func(t *testing.T) {
		ld := startLoad(url, 40, 4*time.Minute)
		defer ld.stop()
		bad := e.releaseImage(t, c, "3.1.0", "hello:3.1.0-canary")
		failed := e.waitPhase(t, c, canaryNS, bad.Name+"-dev", ferryv1.PromotionFailed, 4*time.Minute)
		cs := failed.Status.Canary
		if cs == nil || cs.Phase != ferryv1.CanaryAborted || cs.AbortedAt == nil || cs.StableVersion != "3.0.0" || !cs.Baseline {
			t.Fatalf("canary status: %+v", cs)
		}
		if !strings.HasPrefix(failed.Status.Message, "deploy failed: canary step 2 (analysis [hello-errors]) failed: analysis hello-errors in dev-local failed: score ") ||
			!strings.Contains(failed.Status.Message, "error_rate = 0.") || !strings.Contains(failed.Status.Message, "violates <=0.05") ||
			!strings.Contains(failed.Status.Message, "rolled back to 3.0.0") {
			t.Errorf("message: %s", failed.Status.Message)
		}
		if len(failed.Status.Analyses) != 1 || failed.Status.Analyses[0].Result != "fail" {
			t.Fatalf("analyses: %+v", failed.Status.Analyses)
		}
		if j := failed.Status.Analyses[0].Judge; len(j) != 1 || j[0].Result != "fail" || j[0].CanaryCount < 10 || j[0].BaselineCount < 10 {
			t.Errorf("judge: %+v", j)
		}
		var shown strings.Builder
		must(t, analysis.Show(ctx, c, canaryNS, failed.Name, "text", &shown))
		for _, want := range []string{"canary: Aborted", "canary-2 #1  hello-errors in dev-local", "error_rate", "<=0.05 (target 0.05): violated", "errors_per_second  fail"} {
			if !strings.Contains(shown.String(), want) {
				t.Errorf("ferry analysis show lacks %q:\n%s", want, shown.String())
			}
		}
		t.Logf("ferry analysis show %s:\n%s", failed.Name, shown.String())
		t.Logf("3.1.0: %s", failed.Status.Message)
		t.Logf("analysis: %+v", failed.Status.Analyses)
		// Traffic is back on 3.0.0: the load sees only 3.0.0 from shortly after the abort.
		time.Sleep(5 * time.Second)
		ld.stop()
		last := ld.lastAnsweredBy("3.1.0")
		if last.IsZero() || ld.firstAnsweredBy("3.1.0").IsZero() {
			t.Fatalf("the canary never answered: %s", ld.summary())
		}
		back := last.Sub(cs.AbortedAt.Time)
		t.Logf("load: %s; the canary's first failure %s, its last answer %s after the abort; first bad answer to abort: %s",
			ld.summary(), ld.firstFail.Format(time.RFC3339Nano), back.Round(time.Millisecond), cs.AbortedAt.Sub(ld.firstFail).Round(time.Millisecond))
		if back > 5*time.Second {
			t.Errorf("3.1.0 still answered %s after the abort", back)
		}
		for _, name := range []string{"hello-canary", "hello-baseline"} {
			if _, err := e.cs.AppsV1().Deployments("e2e-canary-hello").Get(ctx, name, metav1.GetOptions{}); err == nil {
				t.Errorf("the deployment %s is still there", name)
			}
		}
		e.answers(t, "e2e-canary-hello", "3.0.0")
	})

	t.Run("a healthy canary passes every step and takes the stage", func(t *testing.T) {
		ld := startLoad(url, 40, 5*time.Minute)
		defer ld.stop()
		good := e.release(t, c, canaryNS, "3.2.0")
		p := e.waitPhase(t, c, canaryNS, good.Name+"-dev", ferryv1.PromotionSucceeded, 5*time.Minute)
		ld.stop()
		cs := p.Status.Canary
		if cs == nil || cs.Phase != ferryv1.CanaryPromoting || cs.Step != 5 || cs.Weight != 100 {
			t.Errorf("canary status: %+v", cs)
		}
		if len(p.Status.Analyses) != 3 {
			t.Errorf("analyses: want 3 measurements, got %+v", p.Status.Analyses)
		}
		for _, a := range p.Status.Analyses {
			if a.Result != "pass" || len(a.Judge) != 1 || a.Judge[0].Result != "pass" {
				t.Errorf("analysis %s #%d: %s (%s), judge %+v", a.Step, a.Measurement, a.Result, a.Reason, a.Judge)
			}
		}
		t.Logf("3.2.0: %s; load: %s", checkpointMessage(p, ferryv1.StepDeploy), ld.summary())
		d, err := e.cs.AppsV1().Deployments("e2e-canary-hello").Get(ctx, "hello", metav1.GetOptions{})
		must(t, err)
		if d.Labels["app.kubernetes.io/version"] != "3.2.0" || *d.Spec.Replicas != 4 || d.Status.ReadyReplicas != 4 {
			t.Errorf("stable deployment after the promotion: version %s, %d/%d ready", d.Labels["app.kubernetes.io/version"], d.Status.ReadyReplicas, *d.Spec.Replicas)
		}
		if d.Spec.Paused || d.Annotations["ferry.dev/canary-hold"] != "" {
			t.Errorf("the deployment is still held: paused %t, annotations %v", d.Spec.Paused, d.Annotations)
		}
		// The canary's pods are the ones that stay: 3.2.0 has one ReplicaSet, its pods
		// started before the promotion ended (none started again at the handover).
		sets, err := e.cs.AppsV1().ReplicaSets("e2e-canary-hello").List(ctx, metav1.ListOptions{})
		must(t, err)
		var ours []string
		for _, rs := range sets.Items {
			if rs.Spec.Template.Labels["app.kubernetes.io/version"] == "3.2.0" {
				ours = append(ours, fmt.Sprintf("%s (%d ready)", rs.Name, rs.Status.ReadyReplicas))
			}
		}
		if len(ours) != 1 || !strings.HasSuffix(ours[0], "(4 ready)") {
			t.Errorf("3.2.0's replica sets: %v, want one with 4 pods ready", ours)
		}
		e2ekit.Eventually(t, 30*time.Second, "the baseline deployment goes", func() error {
			if _, err := e.cs.AppsV1().Deployments("e2e-canary-hello").Get(ctx, "hello-baseline", metav1.GetOptions{}); err == nil {
				return errors.New("hello-baseline is still there")
			}
			return nil
		})
		if ld.versions["3.2.0"] == 0 || ld.versions["3.0.0"] == 0 {
			t.Errorf("load saw both versions during the canary? %s", ld.summary())
		}
		e.answers(t, "e2e-canary-hello", "3.2.0")
	})

	t.Run("an analysis while Prometheus is stopped is inconclusive, never a pass", func(t *testing.T) {
		pid := pids(t, e.cfg)["prometheus"]
		if pid == 0 {
			t.Fatal("prometheus is not running")
		}
		must(t, syscall.Kill(pid, syscall.SIGTERM))
		defer func() { must(t, devcluster.Up(context.Background(), e.cfg)) }()
		rel := e.release(t, c, canaryNS, "3.3.0")
		failed := e.waitPhase(t, c, canaryNS, rel.Name+"-dev", ferryv1.PromotionFailed, 4*time.Minute)
		if len(failed.Status.Analyses) != 1 || failed.Status.Analyses[0].Result != "inconclusive" {
			t.Errorf("analyses: %+v", failed.Status.Analyses)
		}
		if !strings.Contains(failed.Status.Message, "inconclusive: no SLI returned a value") || !strings.Contains(failed.Status.Message, "(inconclusive is never a pass)") ||
			!strings.Contains(failed.Status.Message, "rolled back to 3.2.0") {
			t.Errorf("message: %s", failed.Status.Message)
		}
		t.Logf("3.3.0 without Prometheus: %s", failed.Status.Message)
		e.answers(t, "e2e-canary-hello", "3.2.0")
	})
}

// releaseImage creates a Release of hello at version from another tag of the registry.
func (e *clusterEnv) releaseImage(t *testing.T, c client.Client, version, image string) *ferryv1.Release {
	t.Helper()
	rel, err := release.Create(context.Background(), c, release.Registry{}, release.Options{Namespace: canaryNS, Application: "hello",
		Version: version, Image: e.cfg.RegistryAddr + "/" + image, TestsImage: e.cfg.RegistryAddr + "/hello-smoke:1"})
	must(t, err)
	return rel
}

func checkpointMessage(p *ferryv1.Promotion, name string) string {
	for _, c := range p.Status.Checkpoints {
		if c.Name == name {
			return c.Message
		}
	}
	return ""
}
