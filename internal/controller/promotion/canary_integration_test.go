//go:build integration

package promotion_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

const canaryFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-canary
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary: {steps: [{setWeight: 50}, {pause: {}}]}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestCanaryWaitsForAPersonToResume runs a canary whose second step is a pause without a
// duration, against the real Deployment and ReplicaSet controllers (the test plays the
// kubelet). 1.0.0 is the stage's first release: a plain rollout. 1.1.0 holds the stable
// Deployment (paused, with 1.1.0's pod template) and starts a ReplicaSet of one 1.1.0 pod
// beside one stable pod, and waits; the API server refuses a resume in another's name;
// the user's own resume lets it go on: the canary's ReplicaSet grows to the full size,
// only then do the stable pods go, and the Deployment, no longer held, has 1.1.0 at full
// size in that same ReplicaSet: no 1.1.0 pod started twice.
func TestCanaryWaitsForAPersonToResume(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	rc := env.Config
	if _, err := install.CRDs(context.Background(), rc, 30*time.Second); err != nil { // the admission policies
		t.Fatal(err)
	}
	ctx, c, cs := runEngine(t, rc)
	runWorkloads(ctx, t, env, cs, "web-canary", nil)
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: canaryFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	for _, v := range []string{"1.0.0", "1.1.0"} {
		rel := newRelease(v, digest)
		rel.Spec.AppFile = canaryFile
		must(t, c.Create(ctx, rel))
		if v == "1.0.0" {
			p := waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
			if p.Status.Canary != nil {
				t.Errorf("the first release ran a canary: %+v", p.Status.Canary)
			}
		}
	}
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return strings.Contains(checkpointMessage(p, ferryv1.StepDeploy), "step 2 of 3 (pause until resumed): paused until a person resumes it (ferry resume web dev)")
	})
	if cs := p.Status.Canary; cs.Weight != 50 || cs.CanaryReplicas != 1 || cs.StableReplicasNow != 1 || cs.StableVersion != "1.0.0" {
		t.Errorf("canary status: %+v", cs)
	}
	stable, err := cs.AppsV1().Deployments("web-canary").Get(ctx, "web", metav1.GetOptions{})
	must(t, err)
	if stable.Labels["app.kubernetes.io/version"] != "1.0.0" || stable.Spec.Template.Labels["app.kubernetes.io/version"] != "1.1.0" ||
		!stable.Spec.Paused || stable.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || *stable.Spec.Replicas != 2 {
		t.Errorf("stable deployment while paused: version %s, template's %s, paused %t, strategy %s, %d replicas", stable.Labels["app.kubernetes.io/version"],
			stable.Spec.Template.Labels["app.kubernetes.io/version"], stable.Spec.Paused, stable.Spec.Strategy.Type, *stable.Spec.Replicas)
	}
	sets := setsByVersion(ctx, t, cs, "web-canary")
	if len(sets["1.1.0"]) != 1 || len(sets["1.0.0"]) != 1 || *sets["1.1.0"][0].Spec.Replicas != 1 || *sets["1.0.0"][0].Spec.Replicas != 1 ||
		sets["1.1.0"][0].Labels["ferry.dev/track"] != "canary" || sets["1.0.0"][0].Labels["ferry.dev/track"] != "stable" ||
		!metav1.IsControlledBy(&sets["1.1.0"][0], stable) {
		t.Errorf("replica sets while paused: %s", describeSets(sets))
	}
	if _, err := cs.AppsV1().Deployments("web-canary").Get(ctx, "web-canary", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a canary deployment beside the stable one: %v", err)
	}

	env.Grant(t, "ferry-resumer", []rbacv1.PolicyRule{{APIGroups: []string{"ferry.dev"}, Resources: []string{"promotions"}, Verbs: []string{"get", "list", "patch"}}}, "leads")
	ann, err := kubeclient.Ferry(env.User(t, "ann", "leads"))
	must(t, err)
	req := approval.Request{Namespace: "default", Application: "web", Stage: "dev", Reason: "dashboards look fine"}
	if _, err := approval.Resume(ctx, ann, approval.Identity{User: "bob"}, req); err == nil ||
		!strings.Contains(err.Error(), "spec.resume.user must be the requesting user, ann") {
		t.Errorf("resume in another's name: %v", err)
	}
	list, err := cs.AppsV1().ReplicaSets("web-canary").List(ctx, metav1.ListOptions{})
	must(t, err)
	w, err := cs.AppsV1().ReplicaSets("web-canary").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	must(t, err)
	_, err = approval.Resume(ctx, ann, approval.Identity{User: "ann"}, req)
	must(t, err)
	p = waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	checkNoDip(t, w.ResultChan(), sets["1.1.0"][0].Name, 2)
	w.Stop()
	if p.Spec.Resume == nil || p.Spec.Resume.User != "ann" || p.Spec.Resume.Step != 1 || p.Status.Canary.Phase != ferryv1.CanaryPromoting {
		t.Errorf("resume %+v, canary %+v", p.Spec.Resume, p.Status.Canary)
	}
	stable, err = cs.AppsV1().Deployments("web-canary").Get(ctx, "web", metav1.GetOptions{})
	must(t, err)
	if stable.Labels["app.kubernetes.io/version"] != "1.1.0" || *stable.Spec.Replicas != 2 || stable.Spec.Paused ||
		stable.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || stable.Annotations["ferry.dev/canary-hold"] != "" {
		t.Errorf("stable deployment after the promotion: version %s, %d replicas, paused %t, strategy %s, annotations %v",
			stable.Labels["app.kubernetes.io/version"], *stable.Spec.Replicas, stable.Spec.Paused, stable.Spec.Strategy.Type, stable.Annotations)
	}
	if sets := setsByVersion(ctx, t, cs, "web-canary"); len(sets["1.1.0"]) != 1 || sets["1.1.0"][0].Status.AvailableReplicas != 2 ||
		sets["1.1.0"][0].Labels["ferry.dev/track"] != "" || *sets["1.0.0"][0].Spec.Replicas != 0 {
		t.Errorf("replica sets after the promotion: %s", describeSets(sets))
	}
	if _, err := approval.Resume(ctx, ann, approval.Identity{User: "ann"}, req); err == nil || err.Error() != "no promotion of web is under way in dev" {
		t.Errorf("resume with nothing waiting: %v", err)
	}
}

// runWorkloads runs the Deployment and ReplicaSet controllers for the test and plays
// the kubelet for the pods in ns, holding back those hold names (nil: none).
func runWorkloads(ctx context.Context, t *testing.T, env *testenv.Env, cs kubernetes.Interface, ns string, hold func(*corev1.Pod) bool) {
	t.Helper()
	env.StartWorkloadControllers(t)
	go testenv.RunPods(ctx, cs, ns, hold)
}

// setsByVersion lists the ReplicaSets in ns by the version their pods run.
func setsByVersion(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string) map[string][]appsv1.ReplicaSet {
	t.Helper()
	list, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	must(t, err)
	out := map[string][]appsv1.ReplicaSet{}
	for _, rs := range list.Items {
		v := rs.Spec.Template.Labels["app.kubernetes.io/version"]
		out[v] = append(out[v], rs)
	}
	return out
}

// describeSets says what each ReplicaSet runs, for a failure's message.
func describeSets(sets map[string][]appsv1.ReplicaSet) string {
	var b strings.Builder
	for v, list := range sets {
		for _, rs := range list {
			fmt.Fprintf(&b, "%s: %s spec %d available %d track %q; ", v, rs.Name, ptr.Deref(rs.Spec.Replicas, 1), rs.Status.AvailableReplicas, rs.Labels["ferry.dev/track"])
		}
	}
	return b.String()
}

// checkNoDip reads a watch of a canary's ReplicaSets through its handover, until a
// second of quiet: the stable version's ReplicaSet may go to no pods only once the
// canary's (named canary) has its full size available, so that the stable size carries
// the traffic throughout; and the new version never has another ReplicaSet (its pods
// would start a second time).
func checkNoDip(t *testing.T, events <-chan watch.Event, canary string, full int32) {
	t.Helper()
	emptied := false
	var canaryAvailable int32
	for {
		var ev watch.Event
		select {
		case ev = <-events:
		case <-time.After(time.Second):
			if !emptied {
				t.Error("the stable version's replica set never went to no pods")
			}
			return
		}
		rs, ok := ev.Object.(*appsv1.ReplicaSet)
		switch {
		case !ok:
		case rs.Name == canary:
			canaryAvailable = rs.Status.AvailableReplicas
		case rs.Spec.Template.Labels["app.kubernetes.io/version"] == "1.1.0":
			t.Errorf("another replica set of the new version: %s", rs.Name)
		case ptr.Deref(rs.Spec.Replicas, 1) == 0 && !emptied:
			emptied = true
			if canaryAvailable < full {
				t.Errorf("the stable replica set went to no pods while the canary had %d of %d pods available", canaryAvailable, full)
			}
		}
	}
}

const pausingFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-pausing
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary: {steps: [{setWeight: 50}, {analysis: {templates: [errors], inconclusive: pause}}]}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestInconclusiveAnalysisCanPauseForAPerson measures a canary against a Prometheus
// that refuses connections (a closed loopback port): the analysis is inconclusive, and
// with inconclusive: pause the canary waits for a person instead of failing; resumed,
// it is promoted. The measurement is kept with why it has no value.
func TestInconclusiveAnalysisCanPauseForAPerson(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, env.Config)
	runWorkloads(ctx, t, env, cs, "web-pausing", nil)
	analyseWith(ctx, t, c, "http://127.0.0.1:1", refusedErrors) // a closed loopback port
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: pausingFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	for _, v := range []string{"1.0.0", "1.1.0"} {
		rel := newRelease(v, digest)
		rel.Spec.AppFile = pausingFile
		must(t, c.Create(ctx, rel))
		waitPromotion(t, c, rel.Name+"-dev", func(p *ferryv1.Promotion) bool {
			return p.Status.Phase == ferryv1.PromotionSucceeded || strings.Contains(checkpointMessage(p, ferryv1.StepDeploy), "waiting for a person")
		})
	}
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return len(p.Status.Analyses) > 0 })
	a := p.Status.Analyses[0]
	if p.Status.Phase != ferryv1.PromotionRunning || a.Result != "inconclusive" || a.Step != "canary-2" || a.Template != "errors" ||
		!strings.Contains(a.Reason, "no SLI returned a value (error_rate: ") || !strings.Contains(a.Reason, "connection refused") {
		t.Fatalf("phase %s, analysis %+v", p.Status.Phase, a)
	}
	if msg := checkpointMessage(p, ferryv1.StepDeploy); !strings.HasSuffix(msg, "waiting for a person (ferry resume web dev)") {
		t.Errorf("deploy message %q", msg)
	}
	// The analysis's start and its verdict are Events on the Promotion.
	eventually(t, func() error {
		if err := hasEvent(ctx, cs, "Promotion", "web-1-1-0-dev", "AnalysisStarted", "canary step 2: analysis errors started"); err != nil {
			return err
		}
		return hasEvent(ctx, cs, "Promotion", "web-1-1-0-dev", "Analysis", "analysis errors in local: inconclusive")
	})
	who := approval.Identity{User: "admin"}
	_, err := approval.Resume(ctx, c, who, approval.Request{Namespace: "default", Application: "web", Stage: "dev", Reason: "Prometheus is down; dashboards fine"})
	must(t, err)
	p = waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	if len(p.Status.Analyses) != 1 || p.Status.Canary.Phase != ferryv1.CanaryPromoting {
		t.Errorf("after the resume: analyses %d, canary %+v", len(p.Status.Analyses), p.Status.Canary)
	}
}

const stuckFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-stuck
  releaseType:
    deployTimeout: 4
    strategy: canary
    canary: {steps: [{setWeight: 50}]}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestStuckHandoverKeepsTheOldVersion runs a canary of 1.1.0 whose one step passes but
// whose pods beyond the first never start: the test's kubelet holds them back. The
// handover waits for them and the stable pods stay; at the deploy timeout the canary is
// aborted. The stable version's ReplicaSet never went to no pods, and at the end the
// Deployment is no longer held and runs 1.0.0 at its full size, the canary's
// ReplicaSet has no pods, and the Promotion failed.
func TestStuckHandoverKeepsTheOldVersion(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, env.Config)
	var first string
	runWorkloads(ctx, t, env, cs, "web-stuck", func(p *corev1.Pod) bool {
		if p.Labels["app.kubernetes.io/version"] != "1.1.0" {
			return false
		}
		if first == "" {
			first = p.Name
		}
		return p.Name != first
	})
	deliverFirst(ctx, t, c, stuckFile)
	list, err := cs.AppsV1().ReplicaSets("web-stuck").List(ctx, metav1.ListOptions{})
	must(t, err)
	w, err := cs.AppsV1().ReplicaSets("web-stuck").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	must(t, err)
	defer w.Stop()

	must(t, c.Create(ctx, newReleaseOf(stuckFile, "1.1.0", digest2)))
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	if msg := checkpointMessage(p, ferryv1.StepDeploy); !strings.Contains(msg, "not handed over within the deploy timeout of 4s") {
		t.Errorf("deploy checkpoint: %q", msg)
	}
	if cs := p.Status.Canary; cs == nil || cs.Phase != ferryv1.CanaryAborted {
		t.Errorf("canary status: %+v", cs)
	}
	checkBackOn(ctx, t, cs, "web-stuck", "1.0.0", 2)
	for {
		select {
		case ev := <-w.ResultChan():
			if rs, ok := ev.Object.(*appsv1.ReplicaSet); ok && rs.Spec.Template.Labels["app.kubernetes.io/version"] == "1.0.0" && ptr.Deref(rs.Spec.Replicas, 1) == 0 {
				t.Fatal("the stable replica set went to no pods while the canary's were not all available")
			}
		case <-time.After(time.Second): // every change is long written: the watch has shown them
			return
		}
	}
}

const backgroundFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-background
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
      analysis: {templates: [errors], startingStep: 2}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestBackgroundAnalysisEndsACanary runs a canary whose second step waits for a person
// while an analysis runs in the background from that step on, against a Prometheus that
// refuses connections (a closed loopback port). The first background measurement, one
// template interval into the pause, is inconclusive, which is never a pass: the canary
// is aborted at the step it waits in, the stable version has every pod again and the
// stage rolls back.
func TestBackgroundAnalysisEndsACanary(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, env.Config)
	runWorkloads(ctx, t, env, cs, "web-background", nil)
	analyseWith(ctx, t, c, "http://127.0.0.1:1", refusedErrors) // a closed loopback port
	deliverFirst(ctx, t, c, backgroundFile)
	must(t, c.Create(ctx, newReleaseOf(backgroundFile, "1.1.0", digest2)))
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	want := "background analysis failed at canary step 2 (pause until resumed): analysis errors in local inconclusive: no SLI returned a value (error_rate: "
	if msg := checkpointMessage(p, ferryv1.StepDeploy); !strings.HasPrefix(msg, want) || !strings.Contains(msg, "connection refused") {
		t.Errorf("deploy checkpoint %q, want it to begin %q", msg, want)
	}
	if len(p.Status.Analyses) != 1 || p.Status.Analyses[0].Step != "background" || p.Status.Analyses[0].Result != "inconclusive" {
		t.Errorf("analyses: %+v", p.Status.Analyses)
	}
	if c := p.Status.Canary; c.Phase != ferryv1.CanaryAborted || c.Step != 1 || checkpointPhase(p, ferryv1.StepRollback) != ferryv1.CheckpointSucceeded {
		t.Errorf("canary %+v, rollback %s", c, checkpointPhase(p, ferryv1.StepRollback))
	}
	eventually(t, func() error {
		return hasEvent(ctx, cs, "Promotion", "web-1-1-0-dev", "AnalysisStarted", "background analysis errors started at canary step 2")
	})
	checkBackOn(ctx, t, cs, "web-background", "1.0.0", 2)
}

// checkBackOn checks that web in ns runs version at its full size after an abort: the
// Deployment no longer held, with the version's pod template, and that version's one
// ReplicaSet with every pod (the others with none).
func checkBackOn(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, version string, full int32) {
	t.Helper()
	eventually(t, func() error {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if v, tv := d.Labels["app.kubernetes.io/version"], d.Spec.Template.Labels["app.kubernetes.io/version"]; v != version || tv != version ||
			*d.Spec.Replicas != full || d.Spec.Paused || d.Annotations["ferry.dev/canary-hold"] != "" || d.Status.AvailableReplicas != full {
			return fmt.Errorf("deployment: version %s, template's %s, %d replicas (%d available), paused %t, annotations %v", v, tv, *d.Spec.Replicas, d.Status.AvailableReplicas, d.Spec.Paused, d.Annotations)
		}
		sets := setsByVersion(ctx, t, cs, ns)
		for v, list := range sets {
			for _, rs := range list {
				if want := map[bool]int32{true: full}[v == version]; ptr.Deref(rs.Spec.Replicas, 1) != want || rs.Status.Replicas != want {
					return fmt.Errorf("replica sets: %s", describeSets(sets))
				}
			}
		}
		if len(sets[version]) != 1 {
			return fmt.Errorf("replica sets: %s", describeSets(sets))
		}
		return nil
	})
}

const measuredFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-measured
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary:
      steps: [{setWeight: 50}, {pause: {duration: 8s}}]
      analysis: {templates: [errors]}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// canaryMetrics serves, in Prometheus' text format, the requests of web's canary pods
// in web-measured as the pod-targets relabelling names them: 20 more a scrape, none
// failed.
type canaryMetrics struct {
	mu      sync.Mutex
	scrapes int
}

func (m *canaryMetrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	m.scrapes++
	n := m.scrapes
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE http_requests_total counter\n")
	fmt.Fprintf(w, "http_requests_total{namespace=\"web-measured\",app_kubernetes_io_name=\"web\",app_kubernetes_io_version=\"1.1.0\",code=\"200\"} %d\n", 20*n)
}

// TestBackgroundAnalysisMeasuresThroughTheSteps runs a canary with an analysis in the
// background from its start against the real Prometheus, which scrapes the canary's
// request counter every second. The analysis measures one template interval (3 s) after
// the canary began and again 3 s after each measurement, through the 8 s pause; every
// measurement passes, and the canary is promoted.
func TestBackgroundAnalysisMeasuresThroughTheSteps(t *testing.T) {
	srv := httptest.NewServer(&canaryMetrics{})
	defer srv.Close()
	promURL, _ := testenv.StartPrometheus(t, strings.TrimPrefix(srv.URL, "http://"))
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, env.Config)
	runWorkloads(ctx, t, env, cs, "web-measured", nil)
	analyseWith(ctx, t, c, promURL, ferryv1.AnalysisTemplateSpec{SLIs: map[string]string{
		"error_rate": `(sum(rate(http_requests_total{$canarySelector,code=~"5.."}[$interval])) or vector(0)) / sum(rate(http_requests_total{$canarySelector}[$interval]))`},
		SLO:      "objectives: [{sli: error_rate, pass: [{criteria: [\"<=0.01\"]}]}]\ntotal_score: {pass: \"90%\"}\n",
		Interval: &metav1.Duration{Duration: 3 * time.Second}})
	deliverFirst(ctx, t, c, measuredFile)
	must(t, c.Create(ctx, newReleaseOf(measuredFile, "1.1.0", digest2)))
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return finishedPhase(p.Status.Phase) })
	if p.Status.Phase != ferryv1.PromotionSucceeded {
		t.Fatalf("phase %s: %s; analyses %+v", p.Status.Phase, p.Status.Message, p.Status.Analyses)
	}
	var at []time.Time
	for _, a := range p.Status.Analyses {
		if a.Step != "background" || a.Result != "pass" || int(a.Measurement) != len(at)+1 {
			t.Errorf("measurement %d: %+v", len(at)+1, a)
		}
		at = append(at, a.At.Time)
	}
	if len(at) < 2 || len(at) > 3 {
		t.Errorf("%d background measurements through an 8 s pause at 3 s apart, want 2 or 3", len(at))
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 2*time.Second || gap > 5*time.Second { // At is kept to the second
			t.Errorf("measurements %d and %d came %s apart, want about 3 s", i, i+1, gap)
		}
	}
}

// finishedPhase reports whether a Promotion has ended.
func finishedPhase(p ferryv1.PromotionPhase) bool {
	return p == ferryv1.PromotionSucceeded || p == ferryv1.PromotionFailed
}

const fullFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-full
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary: {steps: [{setWeight: 25}, {pause: {}}, {setWeight: 50}, {pause: {}}, {analysis: {templates: [errors]}}]}
  helm:
    values:
      scaling: {enabled: false, min: 4}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestResumeFullSkipsTheStepsLeft: 1.1.0's canary waits for a person at its first pause;
// a resume with full skips that pause, the 50% weight, the second pause and an analysis
// that could not even run (the cluster names no Prometheus), and the canary is promoted
// at once, the skip told in an Event.
func TestResumeFullSkipsTheStepsLeft(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, env.Config)
	runWorkloads(ctx, t, env, cs, "web-full", nil)
	deliverFirst(ctx, t, c, fullFile)
	must(t, c.Create(ctx, newReleaseOf(fullFile, "1.1.0", digest2)))
	waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return strings.Contains(checkpointMessage(p, ferryv1.StepDeploy), "step 2 of 6 (pause until resumed): paused until a person resumes it")
	})
	req := approval.Request{Namespace: "default", Application: "web", Stage: "dev", Reason: "hotfix for an outage", Full: true}
	_, err := approval.Resume(ctx, c, approval.Identity{User: "admin"}, req)
	must(t, err)
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return finishedPhase(p.Status.Phase) })
	if p.Status.Phase != ferryv1.PromotionSucceeded || p.Status.Canary.Weight != 100 || len(p.Status.Analyses) != 0 {
		t.Fatalf("phase %s (%s), canary %+v, analyses %d", p.Status.Phase, p.Status.Message, p.Status.Canary, len(p.Status.Analyses))
	}
	eventually(t, func() error {
		return hasEvent(ctx, cs, "Promotion", "web-1-1-0-dev", "CanaryPromotedInFull", "steps 2 to 5 skipped: promoted in full by admin: hotfix for an outage")
	})
	stable, err := cs.AppsV1().Deployments("web-full").Get(ctx, "web", metav1.GetOptions{})
	must(t, err)
	if v := stable.Labels["app.kubernetes.io/version"]; v != "1.1.0" || *stable.Spec.Replicas != 4 {
		t.Errorf("stable deployment after the promotion: version %s, %d replicas", v, *stable.Spec.Replicas)
	}
}

// refusedErrors is an AnalysisTemplate whose one SLI a Prometheus that refuses
// connections leaves without a value: every measurement is inconclusive.
var refusedErrors = ferryv1.AnalysisTemplateSpec{SLIs: map[string]string{"error_rate": `sum(rate(http_errors{$canarySelector}[$interval]))`},
	SLO: "objectives: [{sli: error_rate, pass: [{criteria: [\"<=0.01\"]}]}]", Interval: &metav1.Duration{Duration: time.Second}}

// analyseWith points the Cluster local at the Prometheus at promURL and makes the
// AnalysisTemplate errors of spec, which the app files' analyses name.
func analyseWith(ctx context.Context, t *testing.T, c client.Client, promURL string, spec ferryv1.AnalysisTemplateSpec) {
	t.Helper()
	cl := &ferryv1.Cluster{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "local"}, cl))
	cl.Spec.PrometheusURL = promURL
	must(t, c.Update(ctx, cl))
	must(t, c.Create(ctx, &ferryv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: "default"}, Spec: spec}))
}

const lingerFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-linger
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary: {steps: [{setWeight: 50}]}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestHandoverWaitsForTheStablePodsToGo holds 1.0.0's pods back from going with a
// finalizer of the test's: after 1.1.0's handover they are terminating, yet a request
// could still reach them, so the deploy step waits and says so; once the finalizer is
// off and they are gone, the Promotion succeeds.
func TestHandoverWaitsForTheStablePodsToGo(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, env.Config)
	runWorkloads(ctx, t, env, cs, "web-linger", nil)
	deliverFirst(ctx, t, c, lingerFile)
	const finalizer = "test.ferry.dev/linger"
	pods, err := cs.CoreV1().Pods("web-linger").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/version=1.0.0"})
	must(t, err)
	if len(pods.Items) != 2 {
		t.Fatalf("%d pods of 1.0.0, want 2", len(pods.Items))
	}
	patch := func(name, finalizers string) {
		_, err := cs.CoreV1().Pods("web-linger").Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"finalizers":`+finalizers+`}}`), metav1.PatchOptions{})
		must(t, err)
	}
	for _, p := range pods.Items {
		patch(p.Name, `["`+finalizer+`"]`)
	}
	must(t, c.Create(ctx, newReleaseOf(lingerFile, "1.1.0", digest2)))
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return strings.Contains(checkpointMessage(p, ferryv1.StepDeploy), "pods of 1.0.0 still going") || finishedPhase(p.Status.Phase)
	})
	if p.Status.Phase != ferryv1.PromotionRunning || p.Status.Canary.Phase != ferryv1.CanaryPromoting {
		t.Fatalf("phase %s (%s), canary %+v", p.Status.Phase, checkpointMessage(p, ferryv1.StepDeploy), p.Status.Canary)
	}
	time.Sleep(time.Second)
	if err := c.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil || p.Status.Phase != ferryv1.PromotionRunning {
		t.Fatalf("with 1.0.0's pods still there: phase %s, %v", p.Status.Phase, err)
	}
	for _, p := range pods.Items {
		patch(p.Name, `null`)
	}
	waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
}
