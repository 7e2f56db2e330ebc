//go:build integration

package promotion_test

import (
	"context"
	"fmt"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/testenv"
)

// TestOneAtATimePerStage checks the stage's lock: while 1.0.0 rolls out in dev, 1.1.0
// waits before its first step that acts on the cluster, naming the holder; once 1.0.0
// is verified, 1.1.0 takes the stage's Lease and deploys.
func TestOneAtATimePerStage(t *testing.T) {
	ctx, c, cs := rollingOutFirst(t)
	holder(t, cs, "web-1-0-0-dev")
	must(t, c.Create(ctx, newRelease("1.1.0", digest2)))
	waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return p.Status.Message == "waiting for web-1-0-0-dev to finish in dev" && checkpointPhase(p, ferryv1.StepPreDeploy) == ""
	})
	reportRolledOut(t, cs, "web-prod", "web")
	waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return checkpointPhase(p, ferryv1.StepDeploy) == ferryv1.CheckpointRunning
	})
	holder(t, cs, "web-1-1-0-dev")
}

// holder waits until the dev stage's Lease names the Promotion.
func holder(t *testing.T, cs kubernetes.Interface, want string) {
	t.Helper()
	eventually(t, func() error {
		l, err := cs.CoordinationV1().Leases("default").Get(context.Background(), "ferry-stage-web-dev", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != want {
			return fmt.Errorf("lease held by %s, want %s", holderOf(l), want)
		}
		return nil
	})
}

func holderOf(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return "nobody"
	}
	return *l.Spec.HolderIdentity
}

// TestALeaseWrittenSinceIsReadAgain checks the lock's shortcut: the next Promotion of a
// stage takes the Lease this process wrote last without reading it, but only while
// nobody else has written it since. Here, once 1.0.0 is verified in dev, somebody names
// 1.0.0's Promotion to prod (waiting for its approval, so unfinished) as the dev stage's
// holder: 1.1.0 must read that and wait, not take the stage over.
func TestALeaseWrittenSinceIsReadAgain(t *testing.T) {
	ctx, c, cs := rollingOutFirst(t)
	reportRolledOut(t, cs, "web-prod", "web")
	waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	waitPromotion(t, c, "web-1-0-0-prod", func(p *ferryv1.Promotion) bool {
		return p.Status.Phase != "" && p.Status.Phase != ferryv1.PromotionSucceeded && p.Status.Phase != ferryv1.PromotionFailed
	})
	holder(t, cs, "web-1-0-0-dev")
	l, err := cs.CoordinationV1().Leases("default").Get(ctx, "ferry-stage-web-dev", metav1.GetOptions{})
	must(t, err)
	other := "web-1-0-0-prod"
	l.Spec.HolderIdentity = &other
	_, err = cs.CoordinationV1().Leases("default").Update(ctx, l, metav1.UpdateOptions{})
	must(t, err)
	must(t, c.Create(ctx, newRelease("1.1.0", digest2)))
	waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return p.Status.Message == "waiting for web-1-0-0-prod to finish in dev" && checkpointPhase(p, ferryv1.StepPreDeploy) == ""
	})
	holder(t, cs, "web-1-0-0-prod")
}

// devAndProd is the application web with a dev stage and a prod stage that needs the
// leads' approval.
func devAndProd() *ferryv1.Application {
	return &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}},
			{Name: "prod", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}, ApproverGroups: []string{"leads"}}}},
	}
}

// rollingOutFirst starts the engine with web's stages dev and prod and releases 1.0.0,
// returning once its deploy step in dev is running.
func rollingOutFirst(t *testing.T) (context.Context, client.Client, kubernetes.Interface) {
	t.Helper()
	rc := testenv.Start(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, rc)
	must(t, c.Create(ctx, devAndProd()))
	must(t, c.Create(ctx, newRelease("1.0.0", digest)))
	waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool {
		return checkpointPhase(p, ferryv1.StepDeploy) == ferryv1.CheckpointRunning
	})
	return ctx, c, cs
}
