//go:build integration

package approval

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// TestOnlyApproversApproveInTheirOwnName uses real users of a real API server: members of
// the approver groups approve once each until the quorum; a user outside the groups is
// refused by the CLI's check and by the API server's admission policy, nothing recorded.
func TestOnlyApproversApproveInTheirOwnName(t *testing.T) {
	env := testenv.StartEnv(t)
	ctx := context.Background()
	if _, err := install.CRDs(ctx, env.Config, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	admin, err := kubeclient.Ferry(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	env.Grant(t, "ferry-approver", testenv.ApproverRules, "leads", "sre", "interns")
	must(t, admin.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: "build: {artifact: web}\n", Stages: []ferryv1.StageSpec{
			{Name: "prod", Clusters: []string{"c"}, ApproverGroups: []string{"leads", "sre"}, Quorum: 2}}},
	}))
	prom := &ferryv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1-0-0-prod", Namespace: "default",
			Labels: map[string]string{ferryv1.LabelApplication: "web", ferryv1.LabelStage: "prod"}},
		Spec: ferryv1.PromotionSpec{Application: "web", Release: "web-1-0-0", Stage: "prod"},
	}
	must(t, admin.Create(ctx, prom))
	prom.Status.Phase = ferryv1.PromotionWaitingApproval
	must(t, admin.Status().Update(ctx, prom))

	waitPolicyActive(t, env)
	req := Request{Namespace: "default", Application: "web", Stage: "prod", Decision: ferryv1.DecisionApprove}
	decide := func(user string, groups ...string) error {
		rc := env.User(t, user, groups...)
		who, err := WhoAmI(ctx, rc)
		if err != nil {
			return err
		}
		if who.User != user {
			t.Fatalf("API server says %s is %s", user, who.User)
		}
		c, err := kubeclient.Ferry(rc)
		if err != nil {
			return err
		}
		_, err = Decide(ctx, c, who, req)
		return err
	}
	if err := decide("eve", "interns"); err == nil || err.Error() != "eve is not in an approver group of stage prod ([leads sre])" {
		t.Errorf("eve: %v", err)
	}
	if err := decide("ann", "leads"); err != nil {
		t.Fatalf("ann: %v", err)
	}
	if err := decide("ann", "leads"); err == nil || !strings.Contains(err.Error(), "ann has already decided on web-1-0-0-prod") {
		t.Errorf("ann twice: %v", err)
	}

	// Going around the CLI does not help: the API server checks the identity itself.
	eve, err := kubeclient.Ferry(env.User(t, "eve", "interns"))
	must(t, err)
	forged := &ferryv1.ApprovalDecision{
		ObjectMeta: metav1.ObjectMeta{Name: "forged", Namespace: "default"},
		Spec:       ferryv1.ApprovalDecisionSpec{Promotion: prom.Name, User: "bob", Group: "sre", Decision: ferryv1.DecisionApprove},
	}
	err = eve.Create(ctx, forged)
	if err == nil || !strings.Contains(err.Error(), "spec.user is bob but the request comes from eve") {
		t.Errorf("forged user: %v", err)
	}
	forged.Spec.User = "eve"
	err = eve.Create(ctx, forged)
	if err == nil || !strings.Contains(err.Error(), "eve is not in group sre") {
		t.Errorf("forged group: %v", err)
	}

	list := &ferryv1.ApprovalDecisionList{}
	must(t, admin.List(ctx, list, client.InNamespace("default")))
	if len(list.Items) != 1 || list.Items[0].Spec.User != "ann" || list.Items[0].Spec.Group != "leads" {
		t.Fatalf("recorded %+v, want only ann's approval as leads", list.Items)
	}
}

// waitPolicyActive waits until the API server enforces the admission policy: a forged
// decision sent as a dry run is refused.
func waitPolicyActive(t *testing.T, env *testenv.Env) {
	t.Helper()
	c, err := kubeclient.Ferry(env.User(t, "mallory", "interns"))
	must(t, err)
	forged := &ferryv1.ApprovalDecision{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default"},
		Spec:       ferryv1.ApprovalDecisionSpec{Promotion: "p", User: "someone-else", Group: "interns", Decision: ferryv1.DecisionApprove},
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err := c.Create(context.Background(), forged.DeepCopy(), client.DryRunAll); err != nil && strings.Contains(err.Error(), "spec.user is someone-else") {
			return
		}
	}
	t.Fatal("the approval admission policy was never enforced")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
