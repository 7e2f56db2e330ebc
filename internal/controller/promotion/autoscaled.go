package promotion

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// autoscaled names the Deployments that a rendered autoscaler sizes: a
// HorizontalPodAutoscaler, or KEDA's ScaledObject (which makes one).
func autoscaled(objs []*unstructured.Unstructured) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() != "HorizontalPodAutoscaler" && o.GetKind() != "ScaledObject" {
			continue
		}
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		if kind == "" || kind == "Deployment" {
			out[name] = true
		}
	}
	return out
}

// liveSized returns o, or, for a Deployment that an autoscaler sizes and that already
// runs, a copy at the size it runs at. The render holds the autoscaler's minimum, which
// applied as it is would undo the autoscaler's choice at every deploy, until its next
// look (the new version would start with the fewest pods, under the most load).
func liveSized(ctx context.Context, c *conn, o *unstructured.Unstructured, scaled map[string]bool) (*unstructured.Unstructured, error) {
	if o.GetKind() != "Deployment" || !scaled[o.GetName()] {
		return o, nil
	}
	live, err := c.cs.AppsV1().Deployments(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return o, nil // made now, at the minimum
	}
	if err != nil {
		return nil, err
	}
	if live.Spec.Replicas == nil {
		return o, nil
	}
	sized := o.DeepCopy()
	if err := unstructured.SetNestedField(sized.Object, int64(*live.Spec.Replicas), "spec", "replicas"); err != nil {
		return nil, fmt.Errorf("sizing deployment %s: %w", o.GetName(), err)
	}
	return sized, nil
}
