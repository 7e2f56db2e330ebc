//go:build integration

package promotion_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/inventory"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// pruneApp renders a PodDisruptionBudget with two replicas or more, none with one.
const pruneApp = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-prune
  helm:
    values:
      scaling: {enabled: false, min: %d}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestPruneWhatTheRenderNoLongerHas: a version whose render lacks an object an earlier
// version applied deletes it once it runs (2 replicas render a PodDisruptionBudget, 1
// does not), and says so; an object another manager made in its place since is left
// alone; the inventory records what each deploy applied.
func TestPruneWhatTheRenderNoLongerHas(t *testing.T) {
	rc := testenv.Start(t, "../../../config/crd")
	startController(t, rc)
	ctx := context.Background()
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: fmt.Sprintf(pruneApp, 2), Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}}}))
	deliver := func(version string, replicas int) *ferryv1.Promotion {
		t.Helper()
		must(t, c.Create(ctx, newReleaseOf(fmt.Sprintf(pruneApp, replicas), version, digest)))
		waitDeployed(t, cs, "web-prune", "registry.example.com/web@"+digest)
		eventually(t, func() error { // the Deployment of this version, then rolled out
			d, err := cs.AppsV1().Deployments("web-prune").Get(ctx, "web", metav1.GetOptions{})
			if err != nil || d.Labels["app.kubernetes.io/version"] != version {
				return fmt.Errorf("deployment of %s not applied yet (%w)", version, err)
			}
			return nil
		})
		reportRolledOut(t, cs, "web-prune", "web")
		name := "web-" + strings.ReplaceAll(version, ".", "-") + "-dev"
		return waitPromotion(t, c, name, func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	}
	pdbExists := func() bool {
		_, err := cs.PolicyV1().PodDisruptionBudgets("web-prune").Get(ctx, "web", metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	inv := func() string {
		cm, err := cs.CoreV1().ConfigMaps("web-prune").Get(ctx, inventory.Name("web"), metav1.GetOptions{})
		must(t, err)
		return cm.Data["objects"]
	}

	deliver("1.0.0", 2)
	if !pdbExists() || !strings.Contains(inv(), `"kind":"PodDisruptionBudget"`) {
		t.Fatalf("1.0.0 with 2 replicas: PodDisruptionBudget %v, inventory %s", pdbExists(), inv())
	}
	p := deliver("1.1.0", 1)
	if pdbExists() {
		t.Error("1.1.0 with 1 replica: the PodDisruptionBudget of 1.0.0 is still there")
	}
	if msg := checkpointMessage(p, ferryv1.StepDeploy); !strings.Contains(msg, "local: deleted what the render no longer has: PodDisruptionBudget web-prune/web") {
		t.Errorf("deploy message %q", msg)
	}
	if got := inv(); strings.Contains(got, "PodDisruptionBudget") || !strings.Contains(got, `"kind":"Deployment"`) {
		t.Errorf("inventory after 1.1.0: %s", got)
	}

	// Applied again by 1.2.0, then made anew by someone else: 1.3.0 leaves that one.
	deliver("1.2.0", 2)
	if !pdbExists() {
		t.Fatal("1.2.0 with 2 replicas: no PodDisruptionBudget")
	}
	policy := metav1.DeletePropagationBackground
	must(t, cs.PolicyV1().PodDisruptionBudgets("web-prune").Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &policy}))
	one := intstr.FromInt32(1)
	_, err = cs.PolicyV1().PodDisruptionBudgets("web-prune").Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "ops"}}},
	}, metav1.CreateOptions{FieldManager: "ops-team"})
	must(t, err)
	p = deliver("1.3.0", 1)
	if !pdbExists() {
		t.Error("1.3.0 deleted a PodDisruptionBudget that another manager made")
	}
	if msg := checkpointMessage(p, ferryv1.StepDeploy); strings.Contains(msg, "deleted") {
		t.Errorf("deploy message %q", msg)
	}
}
