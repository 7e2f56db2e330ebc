package promotion

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/canary"
	"ferry.dev/ferry/internal/rollout"
	"ferry.dev/ferry/internal/traffic"
)

// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=patch;delete

// A canary's or a blue-green preview's pods carry the track label, which keeps their
// Deployment's selector apart from the stable one's.
const (
	LabelTrack    = "ferry.dev/track"
	TrackCanary   = "canary"
	trackBaseline = "baseline"
	trackPreview  = "preview"
	// trackStable names the Service of the stable version's pods alone, which a route
	// sends the stable share to (the application's Service selects the canary too).
	trackStable = "stable"
)

// timeOfDay is how a moment the Promotion waits for is written in its status.
const timeOfDay = "15:04:05.000Z"

// trackName names the Deployment (and Service) of a track beside the stable name.
func trackName(stable, track string) string { return stable + "-" + track }

// canaryTarget is one target cluster of a canary release, with the objects rendered
// for the new version.
type canaryTarget struct {
	id     string
	cl     *ferryv1.Cluster
	c      *conn
	stable *unstructured.Unstructured
	others []*unstructured.Unstructured
	// route is the rendered HTTPRoute (also among others) when the cluster routes
	// through a Gateway.
	route *unstructured.Unstructured
}

// rendered is the target's render: the stable Deployment and the others, as the
// application's inventory records them (a canary's or a preview's own objects are not).
func (t canaryTarget) rendered(app, ns string) rendered {
	return rendered{app: app, ns: ns, objs: append([]*unstructured.Unstructured{t.stable}, t.others...)}
}

// canaryPlan is how a canary or an A/B test runs: its steps, whether baseline pods run
// beside it, and for an A/B test what marks a request.
type canaryPlan struct {
	steps      []canary.Step
	baseline   bool
	match      *traffic.Match
	background *canary.Background
}

// abPlan is an A/B test's plan.
func abPlan(ab *appfile.ABTest) canaryPlan {
	return canaryPlan{steps: canary.ABSteps(ab), baseline: canary.ABBaseline(ab),
		match: &traffic.Match{Header: ab.Header, Cookie: ab.Cookie, Value: ab.Value}}
}

// deployCanary runs the deploy step as a canary release. The new version starts in a
// ReplicaSet of its own inside the stable Deployment (split.go), behind the same
// Service, so that the share of its pods is its share of the traffic. The steps
// (setWeight, pause, analysis) run in order; when they all passed, the canary's
// ReplicaSet grows to the full size and becomes the Deployment's. A failed step removes
// the canary's pods at once, puts the stable pods back at their full size, and fails
// the step (the stage then rolls back).
// Without a stable version to compare with (the stage's first deployment, or a stage
// already running this version) the release is a plain rolling one. When the targets
// route through a Gateway, the route's weights split the traffic instead (route.go),
// and an A/B test sends the requests a header or cookie marks to the new version.
func (r *Reconciler) deployCanary(ctx context.Context, f *facts, plan canaryPlan) (bool, time.Duration, error) {
	steps := plan.steps
	cs := f.prom.Status.Canary
	if cs != nil && cs.Phase == ferryv1.CanaryPromoting {
		return r.deploy(ctx, f, ferryv1.StepDeploy)
	}
	if cs == nil && checkpoint(f.prom, ferryv1.StepDeploy).Applied != nil {
		// Begun as a plain deployment: it stays one.
		return r.deploy(ctx, f, ferryv1.StepDeploy)
	}
	ts, err := r.canaryTargets(ctx, f)
	if err != nil {
		return false, 0, err
	}
	if cs == nil {
		if cs, err = r.startCanary(ctx, f, ts, plan); err != nil || cs == nil {
			if err != nil {
				return false, 0, err
			}
			return r.deploy(ctx, f, ferryv1.StepDeploy)
		}
		r.announce(f, 0, steps[0])
		if first := firstPods(plan, cs.StableReplicas, cs.Route != ""); first.canary > 0 {
			// The start sized the first step's pods: the ReplicaSets' news of them wakes
			// the step, which has nothing to write before.
			cs.Message = splitRound(ts, first)
			setStepMessage(f, 0, len(steps)+1, steps[0])
			return false, pollFor(ts), nil
		}
	}
	// After the last step the canary grows to the full size and takes every request, the
	// stable pods gone: the handover, a last weight of 100.
	steps = append(steps[:len(steps):len(steps)], canary.Step{Kind: canary.SetWeight, Weight: 100})
	for int(cs.Step) < len(steps) {
		if res := f.prom.Spec.Resume; res != nil && res.Full && int(cs.Step) < len(plan.steps) {
			r.promoteInFull(f, len(plan.steps))
		}
		st := steps[cs.Step]
		bgWait, err := r.background(ctx, f, ts, plan)
		if err != nil && !isStepFailure(err) {
			return false, 0, err
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), errStepFailed.Error()+": ")
			return false, 0, r.abortCanary(ctx, f, ts, fmt.Sprintf("background analysis failed at canary step %d (%s): %s", cs.Step+1, st, msg))
		}
		var done bool
		var wait time.Duration
		if int(cs.Step) == len(plan.steps) && cs.Route == "" {
			done, wait, err = r.handOver(ctx, f, ts)
		} else {
			done, wait, err = r.canaryStep(ctx, f, ts, int(cs.Step), st, plan.match)
		}
		if err != nil && !isStepFailure(err) {
			return false, 0, err // a transient error: the step runs again
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), errStepFailed.Error()+": ")
			return false, 0, r.abortCanary(ctx, f, ts, fmt.Sprintf("canary step %d (%s) failed: %s", cs.Step+1, st, msg))
		}
		if !done {
			setStepMessage(f, int(cs.Step), len(steps), st)
			if w := sooner(wait, bgWait); w != wait {
				wait, f.exactWait = w, true
			}
			return false, wait, nil
		}
		now := metav1.NewMicroTime(r.Now())
		cs.Step, cs.StepStartedAt = cs.Step+1, &now
		if int(cs.Step) < len(steps) {
			r.announce(f, int(cs.Step), steps[cs.Step])
		}
	}
	cs.Phase = ferryv1.CanaryPromoting
	cs.Message = "every step passed: the stable deployment takes " + f.release.Spec.Version
	r.update(f.prom, ferryv1.StepDeploy, func(c *ferryv1.Checkpoint) { c.Applied = nil })
	return r.deploy(ctx, f, ferryv1.StepDeploy)
}

// setStepMessage says in the deploy step's message where the canary stands: step idx
// of total (the handover counted), with the canary's own message.
func setStepMessage(f *facts, idx, total int, st canary.Step) {
	setMessage(f.prom, ferryv1.StepDeploy, fmt.Sprintf("canary of %s, step %d of %d (%s): %s", f.release.Spec.Version, idx+1, total, st, f.prom.Status.Canary.Message))
}

// promoteInFull skips the steps left, as a person's resume --full asks: the next is the
// last weight, every request to the new version.
func (r *Reconciler) promoteInFull(f *facts, last int) {
	cs, res := f.prom.Status.Canary, f.prom.Spec.Resume
	r.event(f.prom, corev1.EventTypeNormal, "CanaryPromotedInFull", ferryv1.StepDeploy,
		fmt.Sprintf("steps %d to %d skipped: promoted in full by %s: %s", cs.Step+1, last, orSomeone(res.User), res.Reason))
	now := metav1.NewMicroTime(r.Now())
	cs.Step, cs.StepStartedAt = int32(last), &now //nolint:gosec // a few steps
}

// announce tells of a canary step that begins when people wait to hear of it: an
// analysis (its verdicts follow as they are measured).
func (r *Reconciler) announce(f *facts, idx int, st canary.Step) {
	if st.Kind == canary.Analysis {
		r.event(f.prom, corev1.EventTypeNormal, "AnalysisStarted", ferryv1.StepDeploy,
			fmt.Sprintf("canary step %d: analysis %s started", idx+1, strings.Join(st.Templates, ", ")))
	}
}

// canaryTargets connects to every target cluster and renders the new version there.
func (r *Reconciler) canaryTargets(ctx context.Context, f *facts) ([]canaryTarget, error) {
	file, err := f.file()
	if err != nil {
		return nil, &invalidError{err.Error()}
	}
	name := file.App.Build.Artifact
	var ts []canaryTarget
	for _, id := range f.stage.Clusters {
		cl, c, err := r.connect(ctx, f.prom.Namespace, id)
		if err != nil {
			return nil, err
		}
		objs, err := r.render(ctx, f, cl)
		if err != nil {
			return nil, &invalidError{err.Error()}
		}
		objs, _, err = served(c.applier, objs)
		if err != nil {
			return nil, err
		}
		t := canaryTarget{id: id, cl: cl, c: c}
		for _, o := range objs {
			if o.GetKind() == "Deployment" && o.GetName() == name {
				t.stable = o
				continue
			}
			if o.GetKind() == traffic.Kind && o.GetName() == name {
				t.route = o
			}
			t.others = append(t.others, o)
		}
		if t.stable == nil {
			return nil, &invalidError{fmt.Sprintf("a canary release needs the Deployment %s, which the rendered objects lack", name)}
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// startCanary begins the canary when every target runs another version of the stable
// Deployment; it returns nil when there is nothing to compare with. The objects other
// than the stable Deployment are applied (the Service then selects the canary's pods
// too), and the canary Deployment is made with no pods.
func (r *Reconciler) startCanary(ctx context.Context, f *facts, ts []canaryTarget, plan canaryPlan) (*ferryv1.CanaryStatus, error) {
	ns, err := f.namespace()
	if err != nil {
		return nil, &invalidError{err.Error()}
	}
	stableVersion, replicas, err := r.runningStable(ctx, f, ts, ns)
	if err != nil || replicas == 0 {
		return nil, err
	}
	if err := routedAlike(ts, plan.match != nil); err != nil {
		return nil, err
	}
	first := firstPods(plan, replicas, ts[0].route != nil)
	for _, t := range ts {
		if err := r.startIn(ctx, f, t, ns, stableVersion, first); err != nil {
			return nil, err
		}
	}
	now := metav1.NewMicroTime(r.Now())
	cs := &ferryv1.CanaryStatus{Phase: ferryv1.CanaryProgressing, StableVersion: stableVersion, StableReplicas: replicas, StepStartedAt: &now,
		StableReplicasNow: replicas, Baseline: plan.baseline, Message: "started beside " + stableVersion}
	if ts[0].route != nil {
		cs.Route = ts[0].route.GetName()
	}
	if plan.match != nil {
		cs.Match = plan.match.String()
	}
	f.prom.Status.Canary = cs
	r.event(f.prom, corev1.EventTypeNormal, "CanaryStarted", ferryv1.StepDeploy, fmt.Sprintf("canary of %s started beside %s (%d pods)", f.release.Spec.Version, stableVersion, replicas))
	return cs, nil
}

// startIn starts the canary in one target: the objects other than the stable
// Deployment applied, then the canary's first pods, in the stable Deployment's own
// ReplicaSet (split.go) or, through a route, in a Deployment beside it. Split by pods,
// the objects of an apply's last wave (applyWaves) go once the canary's ReplicaSet is
// made, as an apply sends them after the workloads, beside the stable pods' first
// scale-down: they hold up neither.
func (r *Reconciler) startIn(ctx context.Context, f *facts, t canaryTarget, ns, stableVersion string, first tracks) error {
	if t.route == nil {
		rd := t.rendered(f.app.Name, ns)
		var before, after []*unstructured.Unstructured
		for _, o := range t.others {
			if lastWave(o) {
				after = append(after, o)
			} else {
				before = append(before, o)
			}
		}
		if err := apply(ctx, t.c, rd, nil, before); err != nil {
			return err
		}
		sd, err := r.existing(ctx, t.c, ns, t.stable.GetName())
		if err != nil {
			return err
		}
		if sd == nil {
			return fmt.Errorf("%w: the stable deployment %s/%s is gone", errStepFailed, ns, t.stable.GetName())
		}
		return startSplit(ctx, t.c, sd, t.stable, f.release.Spec.Version, first, func() error {
			return applyObjects(ctx, t.c, rd, after)
		})
	}
	cd, err := trackObject(t.stable, TrackCanary, first.canary)
	if err != nil {
		return err
	}
	objs, err := routedObjects(t, stableVersion)
	if err != nil {
		return err
	}
	return apply(ctx, t.c, t.rendered(f.app.Name, ns), nil, append(objs, cd))
}

// firstPods are the canary's and the stable's pods as the canary starts: the first
// step's shares when that step sets a weight by pod count, so that the step begins
// with the start (a canary made, then scaled, waited a reconcile longer); all pods
// stable otherwise. Baseline pods wait for the step.
func firstPods(plan canaryPlan, replicas int32, routed bool) tracks {
	if routed || len(plan.steps) == 0 || plan.steps[0].Kind != canary.SetWeight {
		return tracks{stable: replicas}
	}
	n := weightTracks(replicas, plan.steps[0].Weight, plan.baseline)
	return tracks{canary: n.canary, stable: n.stable}
}

// runningStable is the version and size of the stable Deployment when every target
// runs one of another version than the Release's; a zero size says there is none.
func (r *Reconciler) runningStable(ctx context.Context, f *facts, ts []canaryTarget, ns string) (string, int32, error) {
	var version string
	var replicas int32
	for i, t := range ts {
		d, err := r.existing(ctx, t.c, ns, t.stable.GetName())
		if err != nil {
			return "", 0, err
		}
		if d == nil || runsVersion(d, f.release.Spec.Version) || d.Spec.Replicas == nil || *d.Spec.Replicas == 0 {
			return "", 0, nil
		}
		if i == 0 {
			version, replicas = versionOf(d), *d.Spec.Replicas
		}
	}
	return version, replicas, nil
}

// canaryStep runs one step; done reports that it passed.
func (r *Reconciler) canaryStep(ctx context.Context, f *facts, ts []canaryTarget, idx int, st canary.Step, match *traffic.Match) (bool, time.Duration, error) {
	cs := f.prom.Status.Canary
	since := cs.StepStartedAt.Time
	switch st.Kind {
	case canary.SetWeight, canary.Mark:
		if cs.Route != "" {
			return r.setRoutedWeight(ctx, f, ts, st.Weight, match)
		}
		return r.setWeight(ctx, f, ts, st.Weight)
	case canary.Pause:
		if st.Duration == 0 {
			if resumed(f.prom, idx) {
				return true, 0, nil
			}
			cs.Message = "paused until a person resumes it (ferry resume " + f.prom.Spec.Application + " " + f.prom.Spec.Stage + ")"
			return false, 0, nil
		}
		if left := since.Add(st.Duration).Sub(r.Now()); left > 0 {
			// A fixed end, not a countdown: a status that changed at every reconcile would
			// wake the Promotion again at once.
			cs.Message = "paused until " + since.Add(st.Duration).UTC().Format(timeOfDay)
			f.exactWait = true
			return false, left, nil
		}
		return true, 0, nil
	default:
		return r.measure(ctx, f, ts, idx, st)
	}
}

// setWeight scales the canary to the weight's share of the stable size and the stable
// pods to the rest, and waits until both are there. Only ready pods receive
// requests from the Service, so the traffic shifts onto pods that serve; the two
// scale together, as Argo Rollouts' basic canary does, rather than one after the other.
func (r *Reconciler) setWeight(ctx context.Context, f *facts, ts []canaryTarget, weight int) (bool, time.Duration, error) {
	cs := f.prom.Status.Canary
	n := weightTracks(cs.StableReplicas, weight, cs.Baseline)
	want, baseline, stable := n.canary, n.baseline, n.stable
	ns, err := f.namespace()
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	if waiting, err := r.scaleAll(ctx, f, ts, ns, n); err != nil || waiting {
		return false, pollFor(ts), err
	}
	cs.Weight, cs.CanaryReplicas, cs.BaselineReplicas, cs.StableReplicasNow = int32(weight), want, baseline, stable //nolint:gosec // weight is validated to 0-100
	cs.Message = fmt.Sprintf("%d%% of the traffic on %s (%d of %d pods)", canary.Share(want, stable+baseline), f.release.Spec.Version, want, want+baseline+stable)
	if baseline > 0 {
		cs.Message += fmt.Sprintf(", %d baseline pods of %s", baseline, cs.StableVersion)
	}
	return true, 0, nil
}

// handOver is the last weight of a canary that splits traffic by pods: every request
// to the new version, with no moment of fewer pods ready than the stable size. The
// canary's ReplicaSet grows to the full size first, beside the stable pods; once its
// pods are all available the stable (and baseline) pods go and the Deployment's hold
// ends, with the canary's ReplicaSet as its own at the full size (handOverSplit).
func (r *Reconciler) handOver(ctx context.Context, f *facts, ts []canaryTarget) (bool, time.Duration, error) {
	cs := f.prom.Status.Canary
	ns, err := f.namespace()
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	var waiting []string
	poll := pollFor(ts)
	for _, t := range ts {
		msg, sizing, err := r.handOverSplit(ctx, f, t, ns)
		if err != nil {
			return false, 0, err
		}
		if msg != "" {
			waiting = append(waiting, t.id+": "+msg)
		}
		if sizing {
			poll = handOverPoll(ts)
		}
	}
	if len(waiting) > 0 {
		if timeout := stepTimeout(f); r.Now().Sub(cs.StepStartedAt.Time) > timeout {
			return false, 0, fmt.Errorf("%w: not handed over within the deploy timeout of %s (%s)", errStepFailed, timeout, strings.Join(waiting, "; "))
		}
		cs.Message = strings.Join(waiting, "; ")
		// The canary's pods are announced by its ReplicaSet; a held Deployment's new
		// size by nothing (its rollout is not complete), so it is polled.
		return false, poll, nil
	}
	f.handedOver = true
	cs.Weight, cs.CanaryReplicas, cs.BaselineReplicas, cs.StableReplicasNow = 100, int32(fullSize(f, ts[0])), 0, 0 //nolint:gosec // a replica count
	cs.Message = fmt.Sprintf("100%% of the traffic on %s (%d pods); the stable deployment takes it", f.release.Spec.Version, cs.CanaryReplicas)
	return true, 0, nil
}

// handOverPoll is how often the handover looks whether the held Deployment's controller
// has seen a new size (a release that changes the app's size): in the watched cache of
// the local cluster often, through another cluster's API server less.
func handOverPoll(ts []canaryTarget) time.Duration {
	for _, t := range ts {
		if !t.c.local {
			return 100 * time.Millisecond
		}
	}
	return 10 * time.Millisecond
}

// fullSize is the size of a target's stable Deployment after the handover: the
// render's, or for an autoscaled one the autoscaler's size when the canary began (not
// the render's minimum).
func fullSize(f *facts, t canaryTarget) int64 {
	if autoscaled(t.others)[t.stable.GetName()] {
		return int64(f.prom.Status.Canary.StableReplicas)
	}
	full, found, err := unstructured.NestedInt64(t.stable.Object, "spec", "replicas")
	if err != nil || !found {
		return 1
	}
	return full
}

// tracks are the pod counts of a canary release in one cluster.
type tracks struct{ canary, baseline, stable int32 }

// weightTracks splits the stable size for a weight carried by pod counts.
func weightTracks(total int32, weight int, baseline bool) tracks {
	if baseline {
		c, b, s := canary.SplitWithBaseline(total, weight)
		return tracks{c, b, s}
	}
	c, s := canary.Split(total, weight)
	return tracks{canary: c, stable: s}
}

// scaleTracks brings one cluster's canary, baseline and stable Deployments to their
// counts, for a canary through a route (one split by pods: splitTracks); it returns what it waits for, or "" when all are there. The canary's and the
// stable's changes are sent together: each is a round trip the other need not wait for.
func (r *Reconciler) scaleTracks(ctx context.Context, f *facts, t canaryTarget, ns string, want tracks) (string, error) {
	cd, err := r.existing(ctx, t.c, ns, trackName(t.stable.GetName(), TrackCanary))
	if err != nil {
		return "", err
	}
	sd, err := r.existing(ctx, t.c, ns, t.stable.GetName())
	if err != nil {
		return "", err
	}
	if sd == nil {
		return "", fmt.Errorf("%w: the stable deployment %s/%s is gone", errStepFailed, ns, t.stable.GetName())
	}
	var waiting []string
	var writes []func() error
	switch {
	case cd == nil || !runsVersion(cd, f.release.Spec.Version):
		obj, err := trackObject(t.stable, TrackCanary, want.canary)
		if err != nil {
			return "", err
		}
		writes = append(writes, func() error { return t.c.applier.Apply(ctx, obj) })
		waiting = append(waiting, fmt.Sprintf("canary scaling to %d", want.canary))
	case cd.Spec.Replicas == nil || *cd.Spec.Replicas != want.canary:
		writes = append(writes, func() error { return scale(ctx, t.c, ns, cd.Name, want.canary) })
		waiting = append(waiting, fmt.Sprintf("canary scaling to %d", want.canary))
	default:
		if done, msg := r.canaryComplete(ctx, t.c, cd); !done {
			waiting = append(waiting, "canary: "+msg)
		}
	}
	if sd.Spec.Replicas == nil || *sd.Spec.Replicas != want.stable {
		writes = append(writes, func() error { return scale(ctx, t.c, ns, sd.Name, want.stable) })
		waiting = append(waiting, fmt.Sprintf("stable scaling to %d", want.stable))
	} else if done, msg := rollout.Complete(sd); !done {
		waiting = append(waiting, "stable: "+msg)
	}
	if err := together(writes); err != nil {
		return "", err
	}
	msg, err := r.scaleBaseline(ctx, t, ns, sd, want.baseline)
	if err != nil {
		return "", err
	}
	if msg != "" {
		waiting = append(waiting, msg)
	}
	return strings.Join(waiting, ", "), nil
}

// canaryComplete reports whether the canary Deployment's pods are all there and
// available. In the local cluster its ReplicaSet says so first (the Deployment's status
// follows from it, one more write later); elsewhere, or before the cache has the
// ReplicaSet, the Deployment does.
func (r *Reconciler) canaryComplete(ctx context.Context, c *conn, cd *appsv1.Deployment) (bool, string) {
	if c.local && cd.Spec.Replicas != nil {
		list := &appsv1.ReplicaSetList{}
		if err := r.List(ctx, list, client.InNamespace(cd.Namespace), client.MatchingLabels{LabelTrack: TrackCanary}); err == nil {
			for i := range list.Items {
				rs := &list.Items[i]
				if metav1.IsControlledBy(rs, cd) && ptr.Deref(rs.Spec.Replicas, 1) == *cd.Spec.Replicas && scaled(rs) {
					return true, fmt.Sprintf("%d replicas available", *cd.Spec.Replicas)
				}
			}
		}
	}
	return rollout.Complete(cd)
}

// scaled reports whether a ReplicaSet's controller has seen its spec and every one of
// its pods is available, none more.
func scaled(rs *appsv1.ReplicaSet) bool {
	want := int32(1)
	if rs.Spec.Replicas != nil {
		want = *rs.Spec.Replicas
	}
	s := rs.Status
	return s.ObservedGeneration >= rs.Generation && s.Replicas == want && s.AvailableReplicas == want
}

// together runs the writes at once and returns their errors.
func together(writes []func() error) error {
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = w() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// scaleBaseline brings the baseline Deployment, a copy of the stable one (which still
// runs the stable version during the steps), to n pods.
func (r *Reconciler) scaleBaseline(ctx context.Context, t canaryTarget, ns string, sd *appsv1.Deployment, n int32) (string, error) {
	name := trackName(t.stable.GetName(), trackBaseline)
	bd, err := r.existing(ctx, t.c, ns, name)
	if err != nil {
		return "", err
	}
	if bd == nil && n == 0 {
		return "", nil
	}
	if bd == nil || bd.Spec.Replicas == nil || *bd.Spec.Replicas != n {
		obj, err := baselineObject(sd, n)
		if err != nil {
			return "", err
		}
		if err := t.c.applier.Apply(ctx, obj); err != nil {
			return "", err
		}
		return fmt.Sprintf("baseline scaling to %d", n), nil
	}
	if done, msg := rollout.Complete(bd); !done {
		return "baseline: " + msg, nil
	}
	return "", nil
}

// baselineObject is a copy of the live stable Deployment as the baseline track's.
func baselineObject(sd *appsv1.Deployment, replicas int32) (*unstructured.Unstructured, error) {
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: sd.Name, Namespace: sd.Namespace, Labels: maps.Clone(sd.Labels)},
		Spec:       *sd.Spec.DeepCopy(),
	}
	d.Spec.Replicas = &replicas
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		return nil, fmt.Errorf("copying the stable deployment: %w", err)
	}
	obj := &unstructured.Unstructured{Object: u}
	unstructured.RemoveNestedField(obj.Object, "status")
	unstructured.RemoveNestedField(obj.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(obj.Object, "spec", "template", "metadata", "creationTimestamp")
	return trackObject(obj, trackBaseline, replicas)
}

// abortCanary removes the canary's pods and returns the stable version to its full
// size in every target (abortIn), so the stable version has all the traffic again, then fails the
// step with cause. An error on the way is returned instead (the step runs, fails and
// aborts again).
func (r *Reconciler) abortCanary(ctx context.Context, f *facts, ts []canaryTarget, cause string) error {
	cs := f.prom.Status.Canary
	ns, err := f.namespace()
	if err != nil {
		return &invalidError{err.Error()}
	}
	if cs.Route != "" {
		// The route first: the stable version still has every pod, so this one change
		// puts all the traffic back on it.
		if err := r.routeAll(ctx, ts, ns, 0, nil); err != nil {
			return fmt.Errorf("aborting the canary: %w", err)
		}
		cs.Weight, cs.Routed = 0, true
	}
	for _, t := range ts {
		if err := r.abortIn(ctx, t, ns, cs); err != nil {
			return fmt.Errorf("aborting the canary: %w", err)
		}
		for _, track := range []string{TrackCanary, trackBaseline} {
			if err := removeTrack(ctx, t.c, ns, t.stable.GetName(), track); err != nil {
				return fmt.Errorf("aborting the canary: %w", err)
			}
		}
	}
	now := metav1.NewTime(r.Now())
	cs.Phase, cs.AbortedAt, cs.CanaryReplicas, cs.BaselineReplicas, cs.StableReplicasNow = ferryv1.CanaryAborted, &now, 0, 0, cs.StableReplicas
	cs.Message = "aborted: the canary's pods are removed and " + cs.StableVersion + " has all the traffic"
	r.event(f.prom, corev1.EventTypeWarning, "CanaryAborted", ferryv1.StepDeploy, cause+"; "+cs.Message)
	return fmt.Errorf("%w: %s; %s", errStepFailed, cause, cs.Message)
}

// abortIn puts the stable version back at its full size in one target: in the stable
// Deployment's ReplicaSets for a canary split by pods, by the Deployment's size for one
// beside it (whose pods then go with it).
func (r *Reconciler) abortIn(ctx context.Context, t canaryTarget, ns string, cs *ferryv1.CanaryStatus) error {
	if cs.Route != "" {
		return ignoreNotFound(scale(ctx, t.c, ns, t.stable.GetName(), cs.StableReplicas))
	}
	sd, err := r.existing(ctx, t.c, ns, t.stable.GetName())
	if err != nil || sd == nil {
		return err
	}
	return abortSplit(ctx, t.c, sd, cs.StableReplicas)
}

// removeCanaries deletes the canary and the blue-green preview in every target, once
// the stable Deployment runs the version a deploy or rollback step brought.
func (r *Reconciler) removeCanaries(ctx context.Context, f *facts, name string) error {
	ns, err := f.namespace()
	if err != nil {
		return &invalidError{err.Error()}
	}
	for _, id := range f.stage.Clusters {
		_, c, err := r.connect(ctx, f.prom.Namespace, id)
		if err != nil {
			return err
		}
		for _, track := range []string{TrackCanary, trackBaseline, trackPreview} {
			if c.local {
				// The watched cache says whether there is one: no request for the usual case.
				if d, err := r.deployment(ctx, c, ns, trackName(name, track)); err != nil || d == nil {
					continue
				}
			}
			if err := removeTrack(ctx, c, ns, name, track); err != nil {
				return err
			}
		}
		if cs := f.prom.Status.Canary; cs != nil && cs.Route != "" {
			if err := removeService(ctx, c, ns, trackName(name, trackStable)); err != nil {
				return err
			}
		}
	}
	return nil
}

// scale sets a Deployment's replica count; the next apply of the Deployment takes the
// field back.
func scale(ctx context.Context, c *conn, ns, name string, replicas int32) error {
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	_, err := c.cs.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "ferry-canary"})
	return err
}

// existing reads a Deployment, nil when there is none.
func (r *Reconciler) existing(ctx context.Context, c *conn, ns, name string) (*appsv1.Deployment, error) {
	d, err := r.deployment(ctx, c, ns, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return d, err
}

// trackObject turns a stable Deployment into a track's: its own name, the track label
// on it, its selector and its pods, and the given replica count.
func trackObject(stable *unstructured.Unstructured, track string, replicas int32) (*unstructured.Unstructured, error) {
	d := stable.DeepCopy()
	d.SetName(trackName(stable.GetName(), track))
	labels := d.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelTrack] = track
	d.SetLabels(labels)
	for _, path := range [][]string{{"spec", "selector", "matchLabels"}, {"spec", "template", "metadata", "labels"}} {
		if err := unstructured.SetNestedField(d.Object, track, append(path, LabelTrack)...); err != nil {
			return nil, fmt.Errorf("labelling the %s deployment: %w", track, err)
		}
	}
	if err := unstructured.SetNestedField(d.Object, int64(replicas), "spec", "replicas"); err != nil {
		return nil, fmt.Errorf("sizing the %s deployment: %w", track, err)
	}
	return d, nil
}

// stepTimeout is how long one canary step may wait for pods: the deploy timeout.
func stepTimeout(f *facts) time.Duration {
	file, err := f.file()
	if err != nil {
		return defaultDeployTimeout
	}
	return deployTimeout(file.App, f.stage.Name)
}

// resumed reports whether a person let canary step idx go on.
func resumed(p *ferryv1.Promotion, idx int) bool {
	return p.Spec.Resume != nil && int(p.Spec.Resume.Step) >= idx
}
