//go:build integration

package promotion_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// TestAbortEndsACanary aborts a canary that waits for a person. The API server refuses
// an abort in another's name; the user's own puts every pod back on the stable version
// (1.0.0 at its full size, the canary gone), fails the deploy step with who aborted and
// why, and the stage rolls back to 1.0.0. With nothing under way there is nothing to
// abort.
func TestAbortEndsACanary(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	if _, err := install.CRDs(context.Background(), env.Config, 30*time.Second); err != nil { // the admission policies
		t.Fatal(err)
	}
	ctx, c, cs := runEngine(t, env.Config)
	runWorkloads(ctx, t, env, cs, "web-canary", nil)
	deliverFirst(ctx, t, c, canaryFile)
	must(t, c.Create(ctx, newReleaseOf(canaryFile, "1.1.0", digest2)))
	waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return strings.Contains(checkpointMessage(p, ferryv1.StepDeploy), "paused until a person resumes it")
	})

	env.Grant(t, "ferry-aborter", []rbacv1.PolicyRule{{APIGroups: []string{"ferry.dev"}, Resources: []string{"promotions"}, Verbs: []string{"get", "list", "patch"}}}, "leads")
	ann, err := kubeclient.Ferry(env.User(t, "ann", "leads"))
	must(t, err)
	req := approval.Request{Namespace: "default", Application: "web", Stage: "dev", Reason: "error budget burning"}
	if _, err := approval.Abort(ctx, ann, approval.Identity{User: "bob"}, req); err == nil ||
		!strings.Contains(err.Error(), "spec.abort.user must be the requesting user, ann") {
		t.Errorf("abort in another's name: %v", err)
	}
	_, err = approval.Abort(ctx, ann, approval.Identity{User: "ann"}, req)
	must(t, err)
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	if msg := checkpointMessage(p, ferryv1.StepDeploy); !strings.Contains(msg, "aborted by ann: error budget burning; aborted: the canary's pods are removed and 1.0.0 has all the traffic") {
		t.Errorf("deploy checkpoint: %q", msg)
	}
	if checkpointPhase(p, ferryv1.StepRollback) != ferryv1.CheckpointSucceeded || p.Status.Canary.Phase != ferryv1.CanaryAborted {
		t.Errorf("rollback %s, canary %+v", checkpointPhase(p, ferryv1.StepRollback), p.Status.Canary)
	}
	checkBackOn(ctx, t, cs, "web-canary", "1.0.0", 2)
	if _, err := approval.Abort(ctx, ann, approval.Identity{User: "ann"}, req); err == nil || err.Error() != "no promotion of web is under way in dev" {
		t.Errorf("abort with nothing under way: %v", err)
	}
}

// TestDeletingACanaryAbortsIt deletes a canary's Promotion while it waits for a person.
// Its finalizer keeps it until it has aborted as `ferry abort` would (every pod back on
// the stable version) and the stage has rolled back to 1.0.0; then it goes. A finished
// Promotion keeps no finalizer: deleted, it goes at once.
func TestDeletingACanaryAbortsIt(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, env.Config)
	runWorkloads(ctx, t, env, cs, "web-canary", nil)
	deliverFirst(ctx, t, c, canaryFile)
	must(t, c.Create(ctx, newReleaseOf(canaryFile, "1.1.0", digest2)))
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return strings.Contains(checkpointMessage(p, ferryv1.StepDeploy), "paused until a person resumes it")
	})
	if !slices.Contains(p.Finalizers, ferryv1.FinalizerAbortOnDelete) {
		t.Errorf("a canary under way has the finalizers %v", p.Finalizers)
	}
	eventually(t, func() error {
		first := &ferryv1.Promotion{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web-1-0-0-dev"}, first); err != nil {
			return err
		}
		if len(first.Finalizers) > 0 {
			return fmt.Errorf("the finished promotion keeps the finalizers %v", first.Finalizers)
		}
		return nil
	})

	last := deleteUntilGone(ctx, t, env.Config, c, p)
	if msg := checkpointMessage(last, ferryv1.StepDeploy); last.Status.Phase != ferryv1.PromotionFailed ||
		msg != "aborted: the promotion was deleted before it finished; aborted: the canary's pods are removed and 1.0.0 has all the traffic" {
		t.Errorf("the deleted promotion ended %s: %q", last.Status.Phase, msg)
	}
	if checkpointPhase(last, ferryv1.StepRollback) != ferryv1.CheckpointSucceeded || last.Status.Canary.Phase != ferryv1.CanaryAborted {
		t.Errorf("rollback %s, canary %+v", checkpointPhase(last, ferryv1.StepRollback), last.Status.Canary)
	}
	checkBackOn(ctx, t, cs, "web-canary", "1.0.0", 2)
	first := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1-0-0-dev"}}
	must(t, c.Delete(ctx, first))
	eventually(t, func() error {
		err := c.Get(ctx, client.ObjectKeyFromObject(first), first)
		switch {
		case err == nil:
			return fmt.Errorf("the finished promotion is still there, finalizers %v", first.Finalizers)
		case !apierrors.IsNotFound(err):
			return err
		}
		return nil
	})
}

// deleteUntilGone deletes a Promotion and reads a watch of it until it is gone, for at
// most a minute; it returns the Promotion as it was last.
func deleteUntilGone(ctx context.Context, t *testing.T, rc *rest.Config, c client.Client, p *ferryv1.Promotion) *ferryv1.Promotion {
	t.Helper()
	wc, err := client.NewWithWatch(rc, client.Options{Scheme: c.Scheme()})
	must(t, err)
	w, err := wc.Watch(ctx, &ferryv1.PromotionList{}, client.InNamespace(p.Namespace),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", p.Name)})
	must(t, err)
	defer w.Stop()
	must(t, c.Delete(ctx, p))
	events := w.ResultChan()
	var last *ferryv1.Promotion
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the watch of the promotion ended")
			}
			if p, isProm := ev.Object.(*ferryv1.Promotion); isProm {
				last = p
			}
			if ev.Type == watch.Deleted {
				return last
			}
		case <-timeout:
			t.Fatalf("the deleted promotion is still there a minute later: %+v", last)
		}
	}
}

const rollingFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-abort
  releaseType: {deployTimeout: 120}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestAbortEndsARollout aborts a plain rollout of 1.1.0 whose pods never start (the
// status player leaves its Deployment unreported): the deploy step fails at once with
// who aborted and why, instead of at the deploy timeout, and the stage rolls back to
// 1.0.0.
func TestAbortEndsARollout(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, env.Config)
	go testenv.ReportRolloutsBut(ctx, cs, "web-abort", func(d *appsv1.Deployment) bool {
		return d.Labels["app.kubernetes.io/version"] == "1.1.0"
	})
	deliverFirst(ctx, t, c, rollingFile)
	must(t, c.Create(ctx, newReleaseOf(rollingFile, "1.1.0", digest2)))
	waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return strings.HasPrefix(checkpointMessage(p, ferryv1.StepDeploy), "rolling out 1.1.0")
	})
	req := approval.Request{Namespace: "default", Application: "web", Stage: "dev", Reason: "wrong build"}
	_, err := approval.Abort(ctx, c, approval.Identity{User: "admin"}, req)
	must(t, err)
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	if msg := checkpointMessage(p, ferryv1.StepDeploy); msg != "aborted by admin: wrong build" || checkpointPhase(p, ferryv1.StepRollback) != ferryv1.CheckpointSucceeded {
		t.Errorf("deploy checkpoint %q, rollback %s", msg, checkpointPhase(p, ferryv1.StepRollback))
	}
	stable, err := cs.AppsV1().Deployments("web-abort").Get(ctx, "web", metav1.GetOptions{})
	must(t, err)
	if v := stable.Labels["app.kubernetes.io/version"]; v != "1.0.0" {
		t.Errorf("the deployment runs %s after the abort", v)
	}
}

const blueGreenFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-bg
  releaseType: {deployTimeout: 120, strategy: blueGreen}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestAbortEndsABlueGreenPreview aborts a blue-green release of 1.1.0 whose preview
// pods never start (the status player leaves the preview Deployment unreported): the
// preview goes, the Service APP still selects 1.0.0's pods, the deploy step fails with
// who aborted and why, and the stage rolls back.
func TestAbortEndsABlueGreenPreview(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs, _ := previewing(t, env)
	if _, err := cs.AppsV1().Deployments("web-bg").Get(ctx, "web-preview", metav1.GetOptions{}); err != nil {
		t.Fatalf("no preview deployment: %v", err)
	}
	_, err := approval.Abort(ctx, c, approval.Identity{User: "admin"}, approval.Request{Namespace: "default", Application: "web", Stage: "dev", Reason: "not today"})
	must(t, err)
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	if msg := checkpointMessage(p, ferryv1.StepDeploy); !strings.HasPrefix(msg, "aborted by admin: not today; aborted: the preview is removed; 1.0.0 kept every request") ||
		p.Status.BlueGreen.Phase != ferryv1.BlueGreenAborted || checkpointPhase(p, ferryv1.StepRollback) != ferryv1.CheckpointSucceeded {
		t.Errorf("deploy checkpoint %q, blue-green %+v, rollback %s", msg, p.Status.BlueGreen, checkpointPhase(p, ferryv1.StepRollback))
	}
	checkPreviewRemoved(ctx, t, cs)
}

// TestDeletingABlueGreenPreviewAbortsIt deletes the Promotion of a blue-green release
// whose preview pods never start: the preview goes, the Service still selects 1.0.0's
// pods, the stage rolls back, and only then is the Promotion gone.
func TestDeletingABlueGreenPreviewAbortsIt(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs, p := previewing(t, env)
	last := deleteUntilGone(ctx, t, env.Config, c, p)
	if msg := checkpointMessage(last, ferryv1.StepDeploy); !strings.HasPrefix(msg, "aborted: the promotion was deleted before it finished; aborted: the preview is removed; 1.0.0 kept every request") ||
		last.Status.Phase != ferryv1.PromotionFailed || checkpointPhase(last, ferryv1.StepRollback) != ferryv1.CheckpointSucceeded {
		t.Errorf("the deleted promotion ended %s: deploy %q, rollback %s", last.Status.Phase, msg, checkpointPhase(last, ferryv1.StepRollback))
	}
	checkPreviewRemoved(ctx, t, cs)
}

// previewing delivers web 1.0.0 as blue-green's first release, then starts 1.1.0,
// whose preview pods never start (the status player leaves the preview Deployment
// unreported), and returns its Promotion once it previews.
func previewing(t *testing.T, env *testenv.Env) (context.Context, client.Client, kubernetes.Interface, *ferryv1.Promotion) {
	t.Helper()
	ctx, c, cs := runEngine(t, env.Config)
	go testenv.ReportRolloutsBut(ctx, cs, "web-bg", func(d *appsv1.Deployment) bool { return d.Name == "web-preview" })
	deliverFirst(ctx, t, c, blueGreenFile)
	must(t, c.Create(ctx, newReleaseOf(blueGreenFile, "1.1.0", digest2)))
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return p.Status.BlueGreen != nil && p.Status.BlueGreen.Phase == ferryv1.BlueGreenPreviewing
	})
	return ctx, c, cs, p
}

// checkPreviewRemoved checks that web's blue-green preview in web-bg is gone and that
// the Service web selects no version but 1.0.0.
func checkPreviewRemoved(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	if _, err := cs.AppsV1().Deployments("web-bg").Get(ctx, "web-preview", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the preview deployment is still there: %v", err)
	}
	svc, err := cs.CoreV1().Services("web-bg").Get(ctx, "web", metav1.GetOptions{})
	must(t, err)
	if v, ok := svc.Spec.Selector["app.kubernetes.io/version"]; ok && v != "1.0.0" {
		t.Errorf("the Service selects version %s", v)
	}
}

// deliverFirst creates the Application web of appFile, with its stage dev on the local
// cluster, and delivers 1.0.0 there (the stage's first release: a plain rollout).
func deliverFirst(ctx context.Context, t *testing.T, c client.Client, appFile string) {
	t.Helper()
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	must(t, c.Create(ctx, newReleaseOf(appFile, "1.0.0", digest)))
	waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
}
