package promotion

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/render"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch

// A canary's round is done when its pods are: the canary's all available, the stable
// version's down to its count. The pods say so first; their ReplicaSet's status says it
// only once the ReplicaSet controller has seen them and written it (20-40 ms later on
// the dev cluster, each round). So in the local cluster the rounds also watch the pods
// of the applications Ferry renders (they carry its application label), kept slim.

// SlimPod is what the watched cache keeps of a pod: its owner, its labels, whether it
// is going, its phase and its Ready condition. A canary's rounds read nothing else, and
// a cluster's pods are its most numerous objects.
func SlimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	slim := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
		Labels: p.Labels, OwnerReferences: p.OwnerReferences,
		CreationTimestamp: p.CreationTimestamp, DeletionTimestamp: p.DeletionTimestamp,
	}}
	slim.Status.Phase = p.Status.Phase
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			slim.Status.Conditions = []corev1.PodCondition{c}
		}
	}
	return slim, nil
}

// settled reports whether a track's ReplicaSet has all its pods available and no more:
// as its status says, or, in the local cluster, as its watched pods already show.
func (r *Reconciler) settled(ctx context.Context, c *conn, rs *appsv1.ReplicaSet) bool {
	return scaled(rs) || (c.local && r.podsSettled(ctx, rs, r.Now()))
}

// podsSettled reports whether the watched cache has exactly the ReplicaSet's size in
// pods that are not going, all of them available at now. Only pods with the application
// label are watched: for a ReplicaSet whose pods lack it the cache would show none, so
// it says no and the ReplicaSet's status decides.
func (r *Reconciler) podsSettled(ctx context.Context, rs *appsv1.ReplicaSet, now time.Time) bool {
	if rs.Spec.Template.Labels[render.LabelApplication] == "" || rs.Spec.Selector == nil {
		return false
	}
	list := &corev1.PodList{}
	if err := r.List(ctx, list, client.InNamespace(rs.Namespace), client.MatchingLabels(rs.Spec.Selector.MatchLabels)); err != nil {
		return false
	}
	return podsAt(list.Items, rs, now)
}

// podsAt reports whether pods hold exactly the ReplicaSet's size in pods of its own that
// are not going, each available at now (ready for its minimum ready seconds).
func podsAt(pods []corev1.Pod, rs *appsv1.ReplicaSet, now time.Time) bool {
	minReady := time.Duration(rs.Spec.MinReadySeconds) * time.Second
	n := int32(0)
	for i := range pods {
		p := &pods[i]
		if !metav1.IsControlledBy(p, rs) || p.DeletionTimestamp != nil {
			continue
		}
		if since, ready := readySince(p); !ready || now.Sub(since) < minReady {
			return false
		}
		n++
	}
	return n == ptr.Deref(rs.Spec.Replicas, 1)
}

// readySince says whether a pod is ready, and since when.
func readySince(p *corev1.Pod) (time.Time, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time, c.Status == corev1.ConditionTrue
		}
	}
	return time.Time{}, false
}

// podChanged wakes the Promotions running a canary of the application and stage a pod
// belongs to when the pod turns ready or goes: a round of the canary may be done, or
// the handover's last stable pod gone.
func (r *Reconciler) podChanged(ctx context.Context, o client.Object) []reconcile.Request {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return nil
	}
	if _, ready := readySince(p); !ready && p.DeletionTimestamp == nil {
		return nil
	}
	return r.deployingWith(ctx, o.GetLabels(), func(prom *ferryv1.Promotion) bool { return prom.Status.Canary != nil })
}
