//go:build integration

package promotion_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/rollback"
	"ferry.dev/ferry/internal/testenv"
)

const testedApp = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-tested
  postDeploy:
    - job: {name: smoke, action: create, image: "registry.example.com/smoke:{{ $.kitt.build.version }}", pollPeriodSeconds: 1}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestFailedTestsRollBack checks the return to the last verified Release: 1.0.0 passes
// its tests in dev; 1.1.0 fails them, and the controller deploys 1.0.0 again, runs
// 1.0.0's tests and fails the Promotion saying why and where it returned. Then
// `ferry rollback` returns dev by hand from 1.2.0 to 1.0.0. The API server has no
// deployment or job controller: the test reports rollouts and Job ends.
func TestFailedTestsRollBack(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	rc := env.Config
	if _, err := install.CRDs(context.Background(), rc, 30*time.Second); err != nil { // the admission policies
		t.Fatal(err)
	}
	ctx, c, cs := runEngine(t, rc)
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: testedApp, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	deliver := func(version, digest string, tests batchv1.JobConditionType) {
		rel := newRelease(version, digest)
		rel.Spec.AppFile = testedApp
		must(t, c.Create(ctx, rel))
		waitImage(t, cs, "registry.example.com/web@"+digest)
		reportRolledOut(t, cs, "web-tested", "web")
		finishJob(t, cs, hookJobOf(t, cs, rel.Name, ferryv1.StepPostDeploy), tests)
	}
	deliver("1.0.0", digest, batchv1.JobComplete)
	waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })

	deliver("1.1.0", digest2, batchv1.JobFailed)
	// The stage returns to 1.0.0: its image again, then its own tests.
	waitImage(t, cs, "registry.example.com/web@"+digest)
	reportRolledOut(t, cs, "web-tested", "web")
	back := hookJobOf(t, cs, "web-1-0-0", ferryv1.StepRollbackTests)
	if img := back.Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/smoke:1.0.0" {
		t.Errorf("rollback tests ran %s, want 1.0.0's tests", img)
	}
	finishJob(t, cs, back, batchv1.JobComplete)
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	if p.Status.RollbackTo != "web-1-0-0" || !strings.HasPrefix(p.Status.Message, "postDeploy failed: hook smoke (job web-tested/") ||
		!strings.HasSuffix(p.Status.Message, "; rolled back to 1.0.0, whose tests passed") {
		t.Errorf("rollbackTo %q, message %q", p.Status.RollbackTo, p.Status.Message)
	}
	for step, want := range map[string]ferryv1.CheckpointPhase{ferryv1.StepDeploy: ferryv1.CheckpointSucceeded, ferryv1.StepPostDeploy: ferryv1.CheckpointFailed,
		ferryv1.StepRollback: ferryv1.CheckpointSucceeded, ferryv1.StepRollbackTests: ferryv1.CheckpointSucceeded} {
		if got := checkpointPhase(p, step); got != want {
			t.Errorf("checkpoint %s: %s, want %s", step, got, want)
		}
	}
	waitCurrent(t, c, "web-1-0-0")

	// By hand: 1.2.0 passes, then dev goes back to the version before it.
	deliver("1.2.0", digest3, batchv1.JobComplete)
	waitCurrent(t, c, "web-1-2-0")
	if _, err := rollback.Start(ctx, c, rollback.Request{Namespace: "default", Application: "web", Stage: "dev", Version: "1.1.0"}); err == nil ||
		err.Error() != "version 1.1.0 was never verified in stage dev of web" {
		t.Errorf("rollback to a failed version: %v", err)
	}
	if _, err := rollback.Start(ctx, c, rollback.Request{Namespace: "default", Application: "web", Stage: "qa"}); err == nil ||
		err.Error() != `application web has no stage "qa" (stages: [dev])` {
		t.Errorf("rollback of an unknown stage: %v", err)
	}
	// The API server refuses a rollback in someone else's name.
	if _, err := rollback.Start(ctx, c, rollback.Request{Namespace: "default", Application: "web", Stage: "dev", Reason: "bad", User: "mallory"}); err == nil ||
		!strings.Contains(err.Error(), "spec.rollback.user must be the requesting user") {
		t.Errorf("rollback in another's name: %v", err)
	}
	who := env.User(t, "ann", "leads")
	env.Grant(t, "ferry-roller", testenv.RollbackRules, "leads")
	annClient, err := kubeclient.Ferry(who)
	must(t, err)
	rb, err := rollback.Start(ctx, annClient, rollback.Request{Namespace: "default", Application: "web", Stage: "dev", Reason: "1.2.0 is slow", User: "ann"})
	must(t, err)
	waitImage(t, cs, "registry.example.com/web@"+digest)
	reportRolledOut(t, cs, "web-tested", "web")
	finishJob(t, cs, hookJobOf(t, cs, "web-1-0-0", ferryv1.StepPostDeploy+"/"+rb.Name), batchv1.JobComplete)
	p = waitPromotion(t, c, rb.Name, func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	if msg := checkpointMessage(p, ferryv1.StepUpstream); msg != "rollback by ann: 1.2.0 is slow" {
		t.Errorf("rollback upstream message %q", msg)
	}
	waitCurrent(t, c, "web-1-0-0")
}

var digest3 = "sha256:" + fmt.Sprintf("%064x", 9)

// hookJobOf waits for the hook Job of a Release's step ("step" or "step/promotion").
func hookJobOf(t *testing.T, cs kubernetes.Interface, release, step string) *batchv1.Job {
	t.Helper()
	sel := ferryv1.LabelRelease + "=" + release + "," + ferryv1.LabelStep + "=" + step
	if s, prom, ok := strings.Cut(step, "/"); ok {
		sel = ferryv1.LabelRelease + "=" + release + "," + ferryv1.LabelStep + "=" + s + "," + ferryv1.LabelPromotion + "=" + prom
	}
	var job *batchv1.Job
	eventually(t, func() error {
		list, err := cs.BatchV1().Jobs("").List(context.Background(), metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return err
		}
		for i := range list.Items {
			if len(list.Items[i].Status.Conditions) == 0 {
				job = &list.Items[i]
				return nil
			}
		}
		return fmt.Errorf("no running job %s", sel)
	})
	return job
}

// waitImage waits until the Deployment runs the image.
func waitImage(t *testing.T, cs kubernetes.Interface, image string) {
	t.Helper()
	eventually(t, func() error {
		d, err := cs.AppsV1().Deployments("web-tested").Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
			return fmt.Errorf("deployment runs %s, want %s", got, image)
		}
		return nil
	})
}

// waitCurrent waits until the Application says dev runs the Release.
func waitCurrent(t *testing.T, c client.Client, release string) {
	t.Helper()
	eventually(t, func() error {
		app := &ferryv1.Application{}
		must(t, c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "web"}, app))
		if len(app.Status.Stages) != 1 || app.Status.Stages[0].CurrentRelease != release {
			return fmt.Errorf("stages %+v, want dev at %s", app.Status.Stages, release)
		}
		return nil
	})
}
