//go:build integration

package promotion_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// TestFreezeHoldsUntilOverridden checks that a Promotion waits while a freeze window of
// its stage is on, that the API server refuses an override in someone else's name, and
// that an override by the user goes on with the reason kept.
func TestFreezeHoldsUntilOverridden(t *testing.T) {
	now := time.Now().UTC()
	frozenApp := fmt.Sprintf(`build: {buildType: go, artifact: web}
deploy:
  namespace: web-frozen
  stages:
    - name: dev
      flows: [release]
      target: [{cluster_id: [local]}]
      freezeWindows: [{name: launch, start: %q, end: %q}]
`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339))
	env := testenv.StartEnv(t, "../../../config/crd")
	rc := env.Config
	if _, err := install.CRDs(context.Background(), rc, 30*time.Second); err != nil { // the admission policies
		t.Fatal(err)
	}
	ctx, c, cs := runEngine(t, rc)
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: frozenApp, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	rel := newRelease("1.0.0", digest)
	rel.Spec.AppFile = frozenApp
	must(t, c.Create(ctx, rel))
	p := waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool {
		return strings.HasPrefix(checkpointMessage(p, ferryv1.StepFreeze), `frozen by "launch" until `)
	})
	if checkpointPhase(p, ferryv1.StepFreeze) != ferryv1.CheckpointRunning || checkpointPhase(p, ferryv1.StepDeploy) != "" {
		t.Fatalf("a frozen promotion went on: %+v", p.Status.Checkpoints)
	}

	env.Grant(t, "ferry-overrider", []rbacv1.PolicyRule{{APIGroups: []string{"ferry.dev"}, Resources: []string{"promotions"}, Verbs: []string{"get", "list", "patch"}}}, "leads")
	ann, err := kubeclient.Ferry(env.User(t, "ann", "leads"))
	must(t, err)
	req := approval.Request{Namespace: "default", Application: "web", Stage: "dev", Reason: "launch fix"}
	if _, err := approval.OverrideFreeze(ctx, ann, approval.Identity{User: "bob"}, req); err == nil ||
		!strings.Contains(err.Error(), "spec.freezeOverride.user must be the requesting user, ann") {
		t.Errorf("override in another's name: %v", err)
	}
	_, err = approval.OverrideFreeze(ctx, ann, approval.Identity{User: "ann"}, req)
	must(t, err)
	reportRolledOut(t, cs, "web-frozen", "web")
	p = waitPromotion(t, c, "web-1-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	if msg := checkpointMessage(p, ferryv1.StepFreeze); msg != `freeze "launch" overridden by ann: launch fix` {
		t.Errorf("freeze checkpoint message %q", msg)
	}
}
