package promotion

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// The steps of a canary split by pods (split.go): its start, each weight, the handover
// and an abort, in one target cluster.

// startSplit holds the stable Deployment for the new version, makes the canary's
// ReplicaSet with its first pods, then takes the stable ReplicaSet to its first size
// (and any other with pods, from a rollout left unfinished, to none), while then (if
// not nil) runs beside that: what may go once the canary's pods are asked for.
// The canary's ReplicaSet is written first: the Deployment controller sizes a
// ReplicaSet that alone has pods to the Deployment.
func startSplit(ctx context.Context, c *conn, sd *appsv1.Deployment, stable *unstructured.Unstructured, version string, first tracks, then func() error) error {
	template, found, err := unstructured.NestedMap(stable.Object, "spec", "template")
	if err != nil || !found {
		return &invalidError{fmt.Sprintf("the Deployment %s has no pod template", stable.GetName())}
	}
	held, err := holdStable(ctx, c, sd, version, template)
	if err != nil {
		return fmt.Errorf("holding deployment %s for the canary: %w", sd.Name, err)
	}
	rs, err := canarySet(held, first.canary)
	if err != nil {
		return err
	}
	_, err = c.cs.AppsV1().ReplicaSets(rs.Namespace).Create(ctx, rs, metav1.CreateOptions{FieldManager: "ferry-canary"})
	made := err == nil
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("making the canary's replica set: %w", err)
	}
	if then == nil {
		then = func() error { return nil }
	}
	return together([]func() error{then, func() error { return sizeFirst(ctx, c, held, first, made) }})
}

// sizeFirst takes a held Deployment's ReplicaSets to the canary's first sizes: the
// canary's (when it was there before, made says not), then the stable one and the
// others with pods.
func sizeFirst(ctx context.Context, c *conn, held *appsv1.Deployment, first tracks, made bool) error {
	if first.canary == 0 {
		return nil
	}
	sets, err := podSetsOf(ctx, c, held)
	if err != nil || sets.stable == nil {
		return err // without a stable ReplicaSet, the step says so
	}
	if !made && sets.canary != nil {
		// The version's ReplicaSet was there already (a canary of it aborted before):
		// it is the canary's, sized and labelled before the stable one shrinks.
		if write := resize(ctx, c, TrackCanary, sets.canary, first.canary); write != nil {
			if err := write(); err != nil {
				return err
			}
		}
	}
	writes := []func() error{func() error { return scaleSet(ctx, c, sets.stable, first.stable, trackStable) }}
	for _, rs := range sets.others {
		writes = append(writes, func() error { return scaleSet(ctx, c, rs, 0, "") })
	}
	return together(writes)
}

// heldStable reads the stable Deployment and its ReplicaSets during the steps; the
// Deployment must still be held for the version. The ReplicaSets come from the watched
// cache when settled accepts what it has (a step that only waits for pods, as after
// every pod of a round), else through the API server.
func (r *Reconciler) heldStable(ctx context.Context, f *facts, t canaryTarget, ns string, settled func(podSets) bool) (*appsv1.Deployment, podSets, error) {
	sd, err := r.heldDeployment(ctx, f, t, ns)
	if err != nil {
		return nil, podSets{}, err
	}
	if h, held := heldFor(sd); !held || h.Version != f.release.Spec.Version {
		return nil, podSets{}, fmt.Errorf("%w: the stable deployment %s/%s is no longer held for the canary of %s", errStepFailed, ns, sd.Name, f.release.Spec.Version)
	}
	if sets, ok := r.cachedSets(ctx, t.c, sd); ok && settled != nil && settled(sets) {
		return sd, sets, nil
	}
	sets, err := podSetsOf(ctx, t.c, sd)
	if err != nil {
		return nil, podSets{}, err
	}
	if sets.canary == nil {
		return nil, podSets{}, fmt.Errorf("%w: the canary's replica set of deployment %s/%s is gone", errStepFailed, ns, sd.Name)
	}
	return sd, sets, nil
}

// cachedSets are a held Deployment's canary and stable ReplicaSets as the watched cache
// of the local cluster has them; ok is false unless it has exactly one of each. The
// cache holds only ReplicaSets with a track label, so it lists no others: a step that
// writes lists them through the API server, and scales them to nothing.
func (r *Reconciler) cachedSets(ctx context.Context, c *conn, sd *appsv1.Deployment) (podSets, bool) {
	if !c.local {
		return podSets{}, false
	}
	list := &appsv1.ReplicaSetList{}
	if err := r.List(ctx, list, client.InNamespace(sd.Namespace), client.HasLabels{LabelTrack}); err != nil {
		return podSets{}, false
	}
	var s podSets
	for i := range list.Items {
		rs := &list.Items[i]
		if !metav1.IsControlledBy(rs, sd) || rs.DeletionTimestamp != nil {
			continue
		}
		switch rs.Labels[LabelTrack] {
		case TrackCanary:
			if s.canary != nil || !sameTemplate(rs.Spec.Template, sd.Spec.Template) {
				return podSets{}, false
			}
			s.canary = rs
		case trackStable:
			if s.stable != nil {
				return podSets{}, false
			}
			s.stable = rs
		}
	}
	return s, s.canary != nil && s.stable != nil
}

// heldDeployment reads the stable Deployment: from the watched cache, or, when the
// cache does not show it held for the version, from the API server (the cache may not
// have the hold written a moment ago, and a step must not take that for a hold gone).
func (r *Reconciler) heldDeployment(ctx context.Context, f *facts, t canaryTarget, ns string) (*appsv1.Deployment, error) {
	sd, err := r.existing(ctx, t.c, ns, t.stable.GetName())
	if err != nil {
		return nil, err
	}
	if h, held := heldFor(sd); (!held || h.Version != f.release.Spec.Version) && t.c.local {
		sd, err = t.c.cs.AppsV1().Deployments(ns).Get(ctx, t.stable.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			sd, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if sd == nil {
		return nil, fmt.Errorf("%w: the stable deployment %s/%s is gone", errStepFailed, ns, t.stable.GetName())
	}
	return sd, nil
}

// splitTracks brings one cluster's canary, stable and baseline pods to their counts; it
// returns what it waits for, or "" when all are there. The canary's and the stable's
// changes are sent together, except when the canary has no pods yet: it is written
// first then, as at its start.
func (r *Reconciler) splitTracks(ctx context.Context, f *facts, t canaryTarget, ns string, want tracks) (string, error) {
	sd, sets, err := r.heldStable(ctx, f, t, ns, func(s podSets) bool {
		return ptr.Deref(s.canary.Spec.Replicas, 1) == want.canary && ptr.Deref(s.stable.Spec.Replicas, 1) == want.stable
	})
	if err != nil {
		return "", err
	}
	if sets.stable == nil && want.stable > 0 {
		return "", fmt.Errorf("%w: deployment %s/%s has no replica set of %s left", errStepFailed, ns, sd.Name, f.prom.Status.Canary.StableVersion)
	}
	var waiting []string
	var first, writes []func() error
	if msg, write := r.sizeSet(ctx, t.c, TrackCanary, sets.canary, want.canary); write != nil {
		if ptr.Deref(sets.canary.Spec.Replicas, 1) == 0 {
			first = append(first, write)
		} else {
			writes = append(writes, write)
		}
		waiting = append(waiting, msg)
	} else if msg != "" {
		waiting = append(waiting, msg)
	}
	if sets.stable != nil {
		msg, write := r.sizeSet(ctx, t.c, trackStable, sets.stable, want.stable)
		if write != nil {
			writes = append(writes, write)
		}
		if msg != "" {
			waiting = append(waiting, msg)
		}
	}
	for _, rs := range sets.others {
		writes = append(writes, func() error { return scaleSet(ctx, t.c, rs, 0, "") })
	}
	if err := together(first); err != nil {
		return "", err
	}
	if err := together(writes); err != nil {
		return "", err
	}
	if sets.stable != nil {
		msg, err := r.scaleBaseline(ctx, t, ns, stableCopy(sd, sets.stable), want.baseline)
		if err != nil {
			return "", err
		}
		if msg != "" {
			waiting = append(waiting, msg)
		}
	}
	return strings.Join(waiting, ", "), nil
}

// sizeSet returns the write that brings a track's ReplicaSet to n pods (and gives it
// the track label, whose changes wake the Promotion), with what the step then waits
// for; without a write, what it waits for ("" when all its pods are available). The
// text stays the same until the pods are there, as a count of them would not: each
// change of the Promotion's status is a write, and a round of pods would take several
// (the ReplicaSet has the count).
func (r *Reconciler) sizeSet(ctx context.Context, c *conn, track string, rs *appsv1.ReplicaSet, n int32) (string, func() error) {
	msg := fmt.Sprintf("%s scaling to %d", track, n)
	if write := resize(ctx, c, track, rs, n); write != nil {
		return msg, write
	}
	if !r.settled(ctx, c, rs) {
		return msg, nil
	}
	return "", nil
}

// resize returns the write that brings a track's ReplicaSet to n pods with the track
// label, or nil when it has both.
func resize(ctx context.Context, c *conn, track string, rs *appsv1.ReplicaSet, n int32) func() error {
	if ptr.Deref(rs.Spec.Replicas, 1) == n && rs.Labels[LabelTrack] == track {
		return nil
	}
	return func() error { return scaleSet(ctx, c, rs, n, track) }
}

// stableCopy is the held Deployment as it was before the canary, with the stable
// ReplicaSet's pod template: what the baseline copies.
func stableCopy(sd *appsv1.Deployment, stable *appsv1.ReplicaSet) *appsv1.Deployment {
	d := sd.DeepCopy()
	d.Spec.Template = withoutHash(stable.Spec.Template)
	d.Spec.Paused = false
	if h, held := heldFor(sd); held {
		d.Spec.Strategy = h.Strategy
	}
	delete(d.Annotations, annotationHold)
	return d
}

// handOverSplit takes one cluster a step further through the handover: the canary's
// ReplicaSet at the full size, then, once all its pods are available, the stable and
// baseline pods go and the hold ends (the Deployment then has the new version's
// ReplicaSet at its full size: nothing more starts). It returns what it waits for, or
// "" when the hold has ended; sizing says it waits for the Deployment controller to see
// a new size, which no event announces.
func (r *Reconciler) handOverSplit(ctx context.Context, f *facts, t canaryTarget, ns string) (msg string, sizing bool, err error) {
	sd, err := r.heldDeployment(ctx, f, t, ns)
	if err != nil {
		return "", false, err
	}
	if _, held := heldFor(sd); !held {
		return "", false, nil // handed over by an earlier reconcile whose status was not written
	}
	full := int32(fullSize(f, t)) //nolint:gosec // a replica count
	// Once the canary's ReplicaSet has the full size, the cache tells the rest. It lists
	// no other ReplicaSet of the Deployment, which the start and every round scaled to
	// none; should one have pods again, the Deployment controller scales it down once
	// the hold ends, and the deploy step waits for its pods to go (handedOverLeft).
	sd, sets, err := r.heldStable(ctx, f, t, ns, func(s podSets) bool {
		return ptr.Deref(s.canary.Spec.Replicas, 1) == full
	})
	if err != nil {
		return "", false, err
	}
	msg, write := r.sizeSet(ctx, t.c, TrackCanary, sets.canary, full)
	if write == nil && msg == "" && !scaled(sets.canary) {
		// Its pods are all available, but the stable pods go only once the canary's
		// ReplicaSet counts them so too: what the Deployment controller, `kubectl get`
		// and a person watching count, and what no dip is judged by.
		msg = fmt.Sprintf("%s scaling to %d", TrackCanary, full)
	}
	if write != nil || msg != "" {
		if write != nil {
			err = write()
		}
		return msg + " before the stable pods go", false, err
	}
	if ptr.Deref(sd.Spec.Replicas, 1) != full {
		// Sized while still held, so that the canary's ReplicaSet, once alone with pods,
		// is the Deployment's size (a Recreate Deployment gives such a one its size).
		patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, full)
		_, err := t.c.cs.AppsV1().Deployments(ns).Patch(ctx, sd.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "ferry-canary"})
		return "the stable deployment takes the size " + strconv.Itoa(int(full)), true, err
	}
	if sd.Status.ObservedGeneration < sd.Generation {
		return "the stable deployment takes the size " + strconv.Itoa(int(full)), true, nil
	}
	writes := []func() error{
		func() error { return unhold(ctx, t.c, sd) },
		func() error { return scaleSet(ctx, t.c, sets.canary, full, "") },
	}
	for _, rs := range append([]*appsv1.ReplicaSet{sets.stable}, sets.others...) {
		if rs != nil {
			writes = append(writes, func() error { return scaleSet(ctx, t.c, rs, 0, "") })
		}
	}
	if f.prom.Status.Canary.BaselineReplicas > 0 {
		writes = append(writes, func() error {
			return ignoreNotFound(scale(ctx, t.c, ns, trackName(sd.Name, trackBaseline), 0))
		})
	}
	return "", false, together(writes)
}

// abortSplit removes the canary's pods at once, gives the stable ReplicaSet its full
// size, and ends the hold with the stable version's pod template back on the
// Deployment (whose controller then finds that ReplicaSet its own, and starts nothing).
// Without a stable ReplicaSet the Deployment stays held, its canary without pods,
// until the rollback's deploy ends the hold with the old version.
func abortSplit(ctx context.Context, c *conn, sd *appsv1.Deployment, full int32) error {
	if _, held := heldFor(sd); !held {
		return nil
	}
	sets, err := podSetsOf(ctx, c, sd)
	if err != nil {
		return err
	}
	if sets.canary != nil && ptr.Deref(sets.canary.Spec.Replicas, 1) != 0 {
		if err := scaleSet(ctx, c, sets.canary, 0, ""); err != nil {
			return err
		}
	}
	if sets.stable == nil {
		return nil
	}
	writes := []func() error{func() error { return scaleSet(ctx, c, sets.stable, full, "") }}
	for _, rs := range sets.others {
		writes = append(writes, func() error { return scaleSet(ctx, c, rs, 0, "") })
	}
	if err := together(writes); err != nil {
		return err
	}
	if _, err := patchDeployment(ctx, c, sd, []jsonOp{
		{Op: "replace", Path: "/spec/template", Value: withoutHash(sets.stable.Spec.Template)},
		{Op: "replace", Path: "/spec/replicas", Value: full},
	}); err != nil {
		return err
	}
	return unhold(ctx, c, sd)
}

// ignoreNotFound is err unless it says the object is not there.
func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// podsPoll is how often a deploy looks whether the stable version's pods are gone, when
// no event of theirs may tell (pods without the application label are not watched).
const podsPoll = 50 * time.Millisecond

// handedOverLeft says, after a canary's handover, what the deploy step still waits for,
// in place of the Deployment's rollout status; "" when nothing. The Deployment
// controller must have seen the hold's end, the canary's ReplicaSet must have its
// pods, all available, and no pod of the stable version (or baseline) may be left,
// even terminating: until they are gone a request may still reach one (a Service's
// endpoints and every node's proxy take a moment to follow a pod's deletion, which a
// pod's preStop sleep covers), and the tests after the deploy must meet the new
// version alone. Those are the facts the rollout status reports, read where they are
// first known: the Deployment's status counts the old pods only once their
// ReplicaSet's status has. ok is false for any other deploy: its rollout status
// decides. Only pods of the stable Deployment's other ReplicaSets and the baseline's
// count: its selector matches both.
func (r *Reconciler) handedOverLeft(ctx context.Context, f *facts, step string, c *conn, d *appsv1.Deployment) (msg string, ok bool, err error) {
	if cs := f.prom.Status.Canary; step != ferryv1.StepDeploy || cs == nil || cs.Route != "" || cs.Phase != ferryv1.CanaryPromoting {
		return "", false, nil
	}
	if _, held := heldFor(d); held || d.Status.ObservedGeneration < d.Generation {
		return "waiting for the deployment controller to see the new spec", true, nil
	}
	sets, err := podSetsOf(ctx, c, d)
	if err != nil || sets.canary == nil {
		return "", false, err // without the canary's ReplicaSet, the rollout status decides
	}
	want := ptr.Deref(d.Spec.Replicas, 1)
	if ptr.Deref(sets.canary.Spec.Replicas, 1) != want || !r.settled(ctx, c, sets.canary) {
		return fmt.Sprintf("%d of %d replicas available", sets.canary.Status.AvailableReplicas, want), true, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return "", true, fmt.Errorf("the selector of deployment %s: %w", d.Name, err)
	}
	pods, err := c.cs.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return "", true, err
	}
	left := 0
	for i := range pods.Items {
		if !metav1.IsControlledBy(&pods.Items[i], sets.canary) {
			left++
		}
	}
	if left == 0 {
		return "", true, nil
	}
	return fmt.Sprintf("%d pods of %s still going", left, f.prom.Status.Canary.StableVersion), true, nil
}
