package promotion

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
)

// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=create;patch

// A canary that splits the traffic by pods runs inside the stable Deployment, in
// ReplicaSets of its own, as the Deployment controller would make them: the canary's
// pods are the new version's ReplicaSet of the stable Deployment from the first step,
// and the handover only grows it to the full size (no pods start a second time, as
// with Argo Rollouts' ReplicaSets).
//
// While the canary runs, the stable Deployment is held: it has the new version's pod
// template, it is paused, and its strategy is Recreate. A paused Deployment is only
// scaled by its controller, and a Recreate one only when a single ReplicaSet has pods
// (which then takes the Deployment's size) or when the new ReplicaSet has the full size
// available (the old ones then go): with two ReplicaSets under way it leaves their
// sizes to Ferry. (A paused rolling one would scale both proportionally whenever their
// sum changed, which two separate writes always do.) The original strategy waits in an
// annotation until the hold ends.
const (
	annotationHold = "ferry.dev/canary-hold"
	// labelTemplateHash tells a Deployment's ReplicaSets (and their pods) apart.
	labelTemplateHash = "pod-template-hash"
	// The Deployment controller's annotations that Ferry's ReplicaSet carries from
	// the start, as one the controller made: its size when saturated.
	annotationDesired = "deployment.kubernetes.io/desired-replicas"
	annotationMax     = "deployment.kubernetes.io/max-replicas"
)

// hold is what the annotation keeps: the version the Deployment is held for and the
// strategy it had.
type hold struct {
	Version  string                    `json:"version"`
	Strategy appsv1.DeploymentStrategy `json:"strategy"`
}

// heldFor reads a Deployment's hold; ok is false when it is not held (or is nil).
func heldFor(d *appsv1.Deployment) (hold, bool) {
	if d == nil {
		return hold{}, false
	}
	raw, ok := d.Annotations[annotationHold]
	if !ok {
		return hold{}, false
	}
	var h hold
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		// Not ours to read: still held, with the default strategy to go back to.
		return hold{Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType}}, true
	}
	return h, true
}

// jsonOp is one operation of an RFC 6902 JSON patch.
type jsonOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// holdStable gives the stable Deployment the new version's pod template and holds it,
// in one write: the template replaced whole (a merge would keep what the new one
// dropped), paused, Recreate. A Deployment already held keeps the strategy it was held
// with.
func holdStable(ctx context.Context, c *conn, sd *appsv1.Deployment, version string, template any) (*appsv1.Deployment, error) {
	h, held := heldFor(sd)
	if !held {
		h.Strategy = sd.Spec.Strategy
	}
	h.Version = version
	raw, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	annotation := jsonOp{Op: "add", Path: "/metadata/annotations/" + escapePointer(annotationHold), Value: string(raw)}
	if sd.Annotations == nil {
		annotation = jsonOp{Op: "add", Path: "/metadata/annotations", Value: map[string]string{annotationHold: string(raw)}}
	}
	return patchDeployment(ctx, c, sd, []jsonOp{
		annotation,
		{Op: "replace", Path: "/spec/template", Value: template},
		{Op: "replace", Path: "/spec/strategy", Value: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}},
		{Op: "add", Path: "/spec/paused", Value: true},
	})
}

// unhold ends a Deployment's hold: its strategy back, no longer paused. Said as a merge
// patch, it does no harm to a Deployment no longer held.
func unhold(ctx context.Context, c *conn, d *appsv1.Deployment) error {
	h, held := heldFor(d)
	if !held {
		return nil
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{annotationHold: nil}},
		"spec":     map[string]any{"paused": nil, "strategy": h.Strategy},
	})
	if err != nil {
		return err
	}
	_, err = c.cs.AppsV1().Deployments(d.Namespace).Patch(ctx, d.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "ferry-canary"})
	return err
}

// unholdAll ends the hold of the rendered Deployments that a canary left held (one
// superseded, or aborted without a stable ReplicaSet), before a deploy or a rollback
// applies them: applied while held, a new template would never roll out.
func (r *Reconciler) unholdAll(ctx context.Context, c *conn, ns string, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		d, err := r.existing(ctx, c, ns, o.GetName())
		if err != nil {
			return err
		}
		if d != nil {
			if err := unhold(ctx, c, d); err != nil {
				return fmt.Errorf("ending the canary's hold of deployment %s: %w", d.Name, err)
			}
		}
	}
	return nil
}

// patchDeployment sends a JSON patch to a Deployment.
func patchDeployment(ctx context.Context, c *conn, d *appsv1.Deployment, ops []jsonOp) (*appsv1.Deployment, error) {
	patch, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	return c.cs.AppsV1().Deployments(d.Namespace).Patch(ctx, d.Name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: "ferry-canary"})
}

// escapePointer escapes a key for a JSON pointer.
func escapePointer(s string) string {
	out := make([]byte, 0, len(s))
	for i := range len(s) {
		switch s[i] {
		case '~':
			out = append(out, '~', '0')
		case '/':
			out = append(out, '~', '1')
		default:
			out = append(out, s[i])
		}
	}
	return string(out)
}

// podSets are a held Deployment's ReplicaSets: the canary's (the one of its pod
// template, nil before it is made) and the stable one with the most pods (nil when none
// has pods), with the others that have pods.
type podSets struct {
	canary, stable *appsv1.ReplicaSet
	others         []*appsv1.ReplicaSet
}

// podSetsOf lists a Deployment's ReplicaSets through the API server: the stable ones
// carry no label the watched cache selects, and a step decides on their sizes.
func podSetsOf(ctx context.Context, c *conn, d *appsv1.Deployment) (podSets, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return podSets{}, fmt.Errorf("the selector of deployment %s: %w", d.Name, err)
	}
	list, err := c.cs.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return podSets{}, err
	}
	var s podSets
	var rest []*appsv1.ReplicaSet
	for i := range list.Items {
		rs := &list.Items[i]
		switch {
		case !metav1.IsControlledBy(rs, d) || rs.DeletionTimestamp != nil:
		case sameTemplate(rs.Spec.Template, d.Spec.Template):
			s.canary = rs
		default:
			rest = append(rest, rs)
		}
	}
	// The stable one has the most pods; when none has any (a step of weight 100), it is
	// the latest of the others.
	slices.SortFunc(rest, func(a, b *appsv1.ReplicaSet) int {
		if n := ptr.Deref(b.Spec.Replicas, 1) - ptr.Deref(a.Spec.Replicas, 1); n != 0 {
			return int(n)
		}
		return revision(b) - revision(a)
	})
	if len(rest) > 0 {
		s.stable = rest[0]
	}
	for _, rs := range rest[min(1, len(rest)):] {
		if ptr.Deref(rs.Spec.Replicas, 1) > 0 {
			s.others = append(s.others, rs)
		}
	}
	return s, nil
}

// revision is the Deployment controller's revision number of a ReplicaSet.
func revision(rs *appsv1.ReplicaSet) int {
	n, _ := strconv.Atoi(rs.Annotations["deployment.kubernetes.io/revision"])
	return n
}

// sameTemplate compares two pod templates as the Deployment controller does, the
// ReplicaSet's hash label aside.
func sameTemplate(a, b corev1.PodTemplateSpec) bool {
	a, b = *a.DeepCopy(), *b.DeepCopy()
	delete(a.Labels, labelTemplateHash)
	delete(b.Labels, labelTemplateHash)
	return equality.Semantic.DeepEqual(a, b)
}

// withoutHash is a ReplicaSet's pod template as its Deployment had it.
func withoutHash(t corev1.PodTemplateSpec) corev1.PodTemplateSpec {
	t = *t.DeepCopy()
	delete(t.Labels, labelTemplateHash)
	return t
}

// canarySet is the ReplicaSet of a held Deployment's pod template, made as the
// Deployment controller makes one (owned by the Deployment, the hash label on its
// selector and pods), with the track label on it alone so the watched cache has it.
func canarySet(d *appsv1.Deployment, replicas int32) (*appsv1.ReplicaSet, error) {
	raw, err := json.Marshal(d.Spec.Template)
	if err != nil {
		return nil, err
	}
	h := fnv.New32a()
	_, _ = h.Write(raw)
	hash := rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
	tpl := *d.Spec.Template.DeepCopy()
	tpl.Labels = maps.Clone(tpl.Labels)
	if tpl.Labels == nil {
		tpl.Labels = map[string]string{}
	}
	tpl.Labels[labelTemplateHash] = hash
	sel := d.Spec.Selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[labelTemplateHash] = hash
	labels := maps.Clone(tpl.Labels)
	labels[LabelTrack] = TrackCanary
	size := strconv.Itoa(int(ptr.Deref(d.Spec.Replicas, 1)))
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name + "-" + hash, Namespace: d.Namespace, Labels: labels,
			Annotations:     map[string]string{annotationDesired: size, annotationMax: size},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: tpl},
	}, nil
}

// scaleSet sets a ReplicaSet's replica count and its track label ("" takes it off):
// the watched cache holds the ReplicaSets with a track label, and a change of theirs
// wakes the Promotion.
func scaleSet(ctx context.Context, c *conn, rs *appsv1.ReplicaSet, replicas int32, track string) error {
	label := "null"
	if track != "" {
		label = strconv.Quote(track)
	}
	patch := fmt.Appendf(nil, `{"metadata":{"labels":{%q:%s}},"spec":{"replicas":%d}}`, LabelTrack, label, replicas)
	_, err := c.cs.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "ferry-canary"})
	return err
}
