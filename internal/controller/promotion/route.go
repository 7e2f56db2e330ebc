package promotion

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"ferry.dev/ferry/internal/canary"
	"ferry.dev/ferry/internal/traffic"
)

// routedAlike checks that the targets of a canary all route through a Gateway or all
// do not (the weights would mean different things), and that an A/B test has routes.
func routedAlike(ts []canaryTarget, ab bool) error {
	var with, without []string
	for _, t := range ts {
		if t.route != nil {
			with = append(with, t.id)
		} else {
			without = append(without, t.id)
		}
	}
	switch {
	case ab && len(without) > 0:
		return &invalidError{fmt.Sprintf("an A/B test routes marked requests through a Gateway's HTTPRoute, and %s has none: "+
			"name the Gateway in the Cluster's spec.gateway (the built-in objects only; a chart brings its own)", strings.Join(without, ", "))}
	case len(with) > 0 && len(without) > 0:
		return &invalidError{fmt.Sprintf("%s route through a Gateway and %s do not: a canary's targets split traffic alike", strings.Join(with, ", "), strings.Join(without, ", "))}
	}
	return nil
}

// routedObjects are the objects a routed canary starts with: the rendered ones, the
// route sending every request to the stable version, and the Services of each track.
func routedObjects(t canaryTarget, stableVersion string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, o := range t.others {
		if o == t.route {
			continue
		}
		out = append(out, o)
		if o.GetKind() != "Service" || o.GetName() != t.stable.GetName() {
			continue
		}
		stable, err := pinned(o, labelVersion, stableVersion)
		if err != nil {
			return nil, err
		}
		stable.SetName(trackName(o.GetName(), trackStable))
		cn, err := pinned(o, LabelTrack, TrackCanary)
		if err != nil {
			return nil, err
		}
		cn.SetName(trackName(o.GetName(), TrackCanary))
		out = append(out, stable, cn)
	}
	route, err := routeFor(t, 0, nil)
	if err != nil {
		return nil, err
	}
	return append(out, route), nil
}

// routeFor is the target's route with weight percent of the unmarked requests on the
// canary, and the marked ones (with a match) all on it.
func routeFor(t canaryTarget, weight int, m *traffic.Match) (*unstructured.Unstructured, error) {
	name := t.stable.GetName()
	port := servicePort(t.route)
	backends := []traffic.Backend{
		{Service: trackName(name, trackStable), Port: port, Weight: int32(100 - weight)}, //nolint:gosec // weight is 0-100
		{Service: trackName(name, TrackCanary), Port: port, Weight: int32(weight)},       //nolint:gosec // weight is 0-100
	}
	var marked []traffic.Backend
	if m != nil {
		marked = []traffic.Backend{{Service: trackName(name, TrackCanary), Port: port, Weight: 1}}
	}
	return traffic.WithRules(t.route, traffic.Rules(backends, m, marked))
}

// servicePort is the port the rendered route sends to.
func servicePort(route *unstructured.Unstructured) int32 {
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for _, r := range rules {
		refs, _, _ := unstructured.NestedSlice(r.(map[string]any), "backendRefs")
		for _, ref := range refs {
			if p, ok, _ := unstructured.NestedInt64(ref.(map[string]any), "port"); ok {
				return int32(p) //nolint:gosec // a port number
			}
		}
	}
	return 80
}

// routeAll sets every target's route.
func (r *Reconciler) routeAll(ctx context.Context, ts []canaryTarget, ns string, weight int, m *traffic.Match) error {
	for _, t := range ts {
		route, err := routeFor(t, weight, m)
		if err != nil {
			return err
		}
		route.SetNamespace(ns)
		if err := t.c.applier.Apply(ctx, route); err != nil {
			return fmt.Errorf("routing %d%% to the canary in %s: %w", weight, t.id, err)
		}
	}
	return nil
}

// setRoutedWeight is setWeight (and an A/B test's marking) through the route: the
// canary's pods start and are ready first, then the route sends them their share. The
// stable version keeps all its pods until the canary has every request; only then do
// they go, before the stable Deployment takes the new version.
func (r *Reconciler) setRoutedWeight(ctx context.Context, f *facts, ts []canaryTarget, weight int, m *traffic.Match) (bool, time.Duration, error) {
	cs := f.prom.Status.Canary
	cn, baseline, stable := canary.RoutedSplit(cs.StableReplicas, weight, m != nil, cs.Baseline)
	ns, err := f.namespace()
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	if !cs.Routed || int(cs.Weight) != weight {
		cs.Routed = false
		if waiting, err := r.scaleAll(ctx, f, ts, ns, tracks{cn, baseline, cs.StableReplicas}); err != nil || waiting {
			return false, pollFor(ts), err
		}
		if err := r.routeAll(ctx, ts, ns, weight, m); err != nil {
			return false, 0, err
		}
		cs.Weight, cs.Routed = int32(weight), true //nolint:gosec // weight is 0-100
	}
	if waiting, err := r.scaleAll(ctx, f, ts, ns, tracks{cn, baseline, stable}); err != nil || waiting {
		return false, pollFor(ts), err
	}
	cs.CanaryReplicas, cs.BaselineReplicas, cs.StableReplicasNow = cn, baseline, stable
	switch {
	case m != nil && weight < 100:
		cs.Message = fmt.Sprintf("requests marked by %s go to %s (%d pods) through HTTPRoute %s; the others to %s", m, f.release.Spec.Version, cn, cs.Route, cs.StableVersion)
	default:
		cs.Message = fmt.Sprintf("%d%% of the traffic on %s (%d pods) through HTTPRoute %s, %d%% on %s (%d pods)", weight, f.release.Spec.Version, cn, cs.Route, 100-weight, cs.StableVersion, stable+baseline)
	}
	if baseline > 0 {
		cs.Message += fmt.Sprintf(", %d of them baseline pods", baseline)
	}
	return true, 0, nil
}

// scaleAll brings every target's tracks to their counts; waiting says some are not
// there yet (the status message says which), and a timeout fails the step.
func (r *Reconciler) scaleAll(ctx context.Context, f *facts, ts []canaryTarget, ns string, want tracks) (bool, error) {
	cs := f.prom.Status.Canary
	var waiting []string
	for _, t := range ts {
		scaleIn := r.scaleTracks
		if cs.Route == "" {
			scaleIn = r.splitTracks
		}
		msg, err := scaleIn(ctx, f, t, ns, want)
		if err != nil {
			return false, err
		}
		if msg != "" {
			waiting = append(waiting, t.id+": "+msg)
		}
	}
	if len(waiting) == 0 {
		return false, nil
	}
	if timeout := stepTimeout(f); r.Now().Sub(cs.StepStartedAt.Time) > timeout {
		return false, fmt.Errorf("%w: not scaled within the deploy timeout of %s (%s)", errStepFailed, timeout, strings.Join(waiting, "; "))
	}
	cs.Message = strings.Join(waiting, "; ")
	if cs.Route == "" {
		cs.Message = splitRound(ts, want)
	}
	return true, nil
}

// splitRound says what a round of a canary split by pods brings every target to. It
// stays the same through the round, unlike what is left of it: each change of the
// Promotion's status is a write, which the pods of the round would wait behind.
func splitRound(ts []canaryTarget, want tracks) string {
	msgs := make([]string, len(ts))
	for i, t := range ts {
		msgs[i] = fmt.Sprintf("%s: canary scaling to %d, stable scaling to %d", t.id, want.canary, want.stable)
		if want.baseline > 0 {
			msgs[i] += fmt.Sprintf(", baseline scaling to %d", want.baseline)
		}
	}
	return strings.Join(msgs, "; ")
}
