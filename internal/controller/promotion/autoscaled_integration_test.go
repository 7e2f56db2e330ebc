//go:build integration

package promotion_test

import (
	"fmt"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/testenv"
)

const autoscaledFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-hpa
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary: {steps: [{setWeight: 50}]}
  helm:
    values:
      scaling: {enabled: true, min: 2, max: 10, cpuPercent: 60}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestAutoscaledDeploymentKeepsItsSize deploys an application whose render has a
// HorizontalPodAutoscaler (2 to 10 pods). 1.0.0 starts at the minimum; the test then
// scales it to 6 through the scale subresource, as the autoscaler would. 1.1.0, a
// canary, compares 3 pods with 3, hands over at 6, and the stable Deployment runs 1.1.0
// at 6: neither the handover nor the deploy after it puts the render's minimum back.
func TestAutoscaledDeploymentKeepsItsSize(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, env.Config)
	runWorkloads(ctx, t, env, cs, "web-hpa", nil)
	deliverFirst(ctx, t, c, autoscaledFile)
	d, err := cs.AppsV1().Deployments("web-hpa").Get(ctx, "web", metav1.GetOptions{})
	must(t, err)
	if *d.Spec.Replicas != 2 {
		t.Fatalf("1.0.0 started with %d replicas, want the minimum, 2", *d.Spec.Replicas)
	}
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers("web-hpa").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Fatalf("no autoscaler: %v", err)
	}
	_, err = cs.AppsV1().Deployments("web-hpa").UpdateScale(ctx, "web", &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "web-hpa", ResourceVersion: d.ResourceVersion},
		Spec:       autoscalingv1.ScaleSpec{Replicas: 6}}, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"})
	must(t, err)

	must(t, c.Create(ctx, newReleaseOf(autoscaledFile, "1.1.0", digest2)))
	p := waitPromotion(t, c, "web-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	if cs := p.Status.Canary; cs == nil || cs.StableReplicas != 6 || cs.CanaryReplicas != 6 {
		t.Errorf("canary status: %+v", cs)
	}
	d, err = cs.AppsV1().Deployments("web-hpa").Get(ctx, "web", metav1.GetOptions{})
	must(t, err)
	if got := fmt.Sprintf("%s at %d", d.Labels["app.kubernetes.io/version"], *d.Spec.Replicas); got != "1.1.0 at 6" {
		t.Errorf("the stable deployment runs %s, want 1.1.0 at 6", got)
	}
}
