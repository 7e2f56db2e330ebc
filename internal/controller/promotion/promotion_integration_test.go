//go:build integration

package promotion_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

const appFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-prod
  releaseType: {deployTimeout: 120}
  helm:
    values:
      scaling: {enabled: false, min: 2}
      global: {metrics: {enabled: true}}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
    - {name: prod, flows: [release], target: [{cluster_id: [local]}], approvers: {groups: [leads]}}
`

// TestReleaseTravelsThroughStages runs the controller against a real API server: a
// Release is deployed to dev by itself and waits for approval before prod; a newer
// Release then supersedes it there, is approved, and is verified in both stages. The API server has no deployment controller, so the test plays its part by
// reporting each Deployment rolled out.
func TestReleaseTravelsThroughStages(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	rc := env.Config
	if _, err := install.CRDs(context.Background(), rc, 30*time.Second); err != nil { // the admission policy
		t.Fatal(err)
	}
	env.Grant(t, "ferry-approver", testenv.ApproverRules, "leads")
	ctx, c, cs := runEngine(t, rc)
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}},
			{Name: "prod", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}, ApproverGroups: []string{"leads"}},
		}},
	}))
	must(t, c.Create(ctx, newRelease("1.0.0", digest)))

	dev := waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool {
		return checkpointPhase(p, ferryv1.StepDeploy) == ferryv1.CheckpointRunning
	})
	if dev.Status.Phase != ferryv1.PromotionRunning {
		t.Errorf("dev phase %s", dev.Status.Phase)
	}
	d := reportRolledOut(t, cs, "web-prod", "web")
	if got := d.Spec.Template.Spec.Containers[0].Image; got != "registry.example.com/web@"+digest {
		t.Errorf("deployed image %s", got)
	}
	dev = waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	for _, step := range []string{ferryv1.StepUpstream, ferryv1.StepApproval, ferryv1.StepDeploy, ferryv1.StepDone} {
		if checkpointPhase(dev, step) != ferryv1.CheckpointSucceeded {
			t.Errorf("dev checkpoint %s: %s", step, checkpointPhase(dev, step))
		}
	}
	t.Logf("dev deploy: %s", checkpointMessage(dev, ferryv1.StepDeploy))

	prod := waitPromotion(t, c, "web-1-0-0-prod", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionWaitingApproval })
	if msg := checkpointMessage(prod, ferryv1.StepApproval); msg != "waiting for 1 of [leads] to approve (0 so far)" {
		t.Errorf("approval message %q", msg)
	}

	// A newer release reaches prod while 1.0.0 still waits there: it supersedes 1.0.0.
	must(t, c.Create(ctx, newRelease("1.1.0", digest2)))
	waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return checkpointPhase(p, ferryv1.StepDeploy) == ferryv1.CheckpointRunning
	})
	reportRolledOut(t, cs, "web-prod", "web")
	waitPromotion(t, c, "web-1-1-0-prod", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionWaitingApproval })
	old := waitPromotion(t, c, "web-1-0-0-prod", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSuperseded })
	if old.Status.Message != "superseded by web-1-1-0-prod, a newer release waiting for prod" {
		t.Errorf("superseded message %q", old.Status.Message)
	}

	approve(t, env, "ann", "leads")
	waitPromotion(t, c, "web-1-1-0-prod", func(p *ferryv1.Promotion) bool {
		return checkpointPhase(p, ferryv1.StepApproval) == ferryv1.CheckpointSucceeded && checkpointPhase(p, ferryv1.StepDeploy) != ""
	})
	reportRolledOut(t, cs, "web-prod", "web")
	waitPromotion(t, c, "web-1-1-0-prod", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })

	rel := &ferryv1.Release{}
	eventually(t, func() error {
		must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web-1-1-0"}, rel))
		if len(rel.Status.VerifiedStages) != 2 {
			return fmt.Errorf("verified in %v", rel.Status.VerifiedStages)
		}
		return nil
	})
	app := &ferryv1.Application{}
	eventually(t, func() error {
		must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web"}, app))
		for _, s := range app.Status.Stages {
			if s.CurrentRelease != "web-1-1-0" || s.ActivePromotion != "" {
				return fmt.Errorf("stage status %+v", app.Status.Stages)
			}
		}
		return nil
	})
	// How each stage ended is an Event on the Release and the Application too.
	eventually(t, func() error {
		for _, want := range []struct{ kind, name, reason, note string }{
			{"Release", "web-1-1-0", "PromotionSucceeded", "prod: web-1-1-0 verified in prod"},
			{"Application", "web", "PromotionSucceeded", "dev: web-1-1-0 verified in dev"},
			{"Application", "web", "Superseded", "prod: superseded by web-1-1-0-prod"},
			{"Promotion", "web-1-1-0-prod", "StepSucceeded", "step deploy succeeded"},
		} {
			if err := hasEvent(ctx, cs, want.kind, want.name, want.reason, want.note); err != nil {
				return err
			}
		}
		return nil
	})
}

// hasEvent finds an Event about the named object with the reason and a note starting
// with note.
func hasEvent(ctx context.Context, cs kubernetes.Interface, kind, name, reason, note string) error {
	list, err := cs.EventsV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "regarding.kind=" + kind + ",regarding.name=" + name})
	if err != nil {
		return err
	}
	var seen []string
	for _, e := range list.Items {
		if e.Reason == reason && strings.HasPrefix(e.Note, note) && e.Regarding.UID != "" {
			return nil
		}
		seen = append(seen, e.Reason+": "+e.Note)
	}
	return fmt.Errorf("no %s event %q on %s %s; it has %q", reason, note, kind, name, seen)
}

// runEngine runs the controller against rc until the test ends, creates the Cluster
// "local" (the API server itself), and returns the context and clients the test uses.
func runEngine(t *testing.T, rc *rest.Config) (context.Context, client.Client, kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	return ctx, c, kubernetes.NewForConfigOrDie(rc)
}

var (
	digest  = "sha256:" + fmt.Sprintf("%064x", 7)
	digest2 = "sha256:" + fmt.Sprintf("%064x", 8)
)

func newRelease(version, digest string) *ferryv1.Release {
	name := "web-" + strings.ReplaceAll(version, ".", "-")
	return &ferryv1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"ferry.dev/application": "web"}},
		Spec: ferryv1.ReleaseSpec{Application: "web", Version: version, Flow: "release", AppFile: appFile,
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/web", Tag: version, Digest: digest}}},
	}
}

// reportRolledOut plays the deployment controller: it waits for the Deployment, then
// reports its current generation fully rolled out.
func reportRolledOut(t *testing.T, cs kubernetes.Interface, ns, name string) *appsv1.Deployment {
	t.Helper()
	ctx := context.Background()
	var d *appsv1.Deployment
	eventually(t, func() error {
		var err error
		d, err = cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
	n := *d.Spec.Replicas
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
	d, err := cs.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	must(t, err)
	return d
}

// approve decides as a real user of the API server, as `ferry approve web prod` does.
func approve(t *testing.T, env *testenv.Env, user, group string) {
	t.Helper()
	rc := env.User(t, user, group)
	who, err := approval.WhoAmI(context.Background(), rc)
	must(t, err)
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	_, err = approval.Decide(context.Background(), c, who, approval.Request{Namespace: "default", Application: "web", Stage: "prod", Decision: ferryv1.DecisionApprove})
	must(t, err)
}

func waitPromotion(t *testing.T, c client.Client, name string, ok func(*ferryv1.Promotion) bool) *ferryv1.Promotion {
	t.Helper()
	p := &ferryv1.Promotion{}
	eventually(t, func() error {
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, p); err != nil {
			return err
		}
		if !ok(p) {
			return fmt.Errorf("promotion %s: phase %s, checkpoints %+v, message %q", name, p.Status.Phase, p.Status.Checkpoints, p.Status.Message)
		}
		return nil
	})
	return p
}

func checkpointPhase(p *ferryv1.Promotion, name string) ferryv1.CheckpointPhase {
	for _, c := range p.Status.Checkpoints {
		if c.Name == name {
			return c.Phase
		}
	}
	return ""
}

func checkpointMessage(p *ferryv1.Promotion, name string) string {
	for _, c := range p.Status.Checkpoints {
		if c.Name == name {
			return c.Message
		}
	}
	return ""
}

func eventually(t *testing.T, check func() error) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if last = check(); last == nil {
			return
		}
	}
	t.Fatal(last)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
