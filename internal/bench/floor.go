package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// The canary's floor is the benchmark canary's three rounds of pods (1, 3 and 5 of the
// new version, the old version's ReplicaSet scaled to 4, 2 and 0 in the same moments)
// and its two 1 s pauses, driven straight on two ReplicaSets by the benchmark itself as
// soon as its watch shows a round done: no Deployment controller, no rollout controller.
// It is what the ReplicaSet controller, the scheduler and kwok take on this cluster;
// whatever controller runs this canary adds its own time on top. Two variants add what
// a canary controller cannot avoid, or chose: rounds that also wait for the old pods to
// go (settled), and ReplicaSets owned by a held Deployment (held), as Ferry's are.

// floorNamespace is where the floor's ReplicaSets run (the bare rollouts' namespace).
const floorNamespace = "bench-bare"

// canaryFloor times runs of the canary's rounds on bare ReplicaSets, each from its first
// write to the new version's five pods available and the old version's gone. A round
// before the last is done when the new version's pods are available; with settled, only
// once the old version's are also down to the round's count, as a controller that
// checks each weight before its pause waits for (Ferry, and Argo Rollouts' basic
// canary: the stable ReplicaSet's available pods at the desired count). Its
// ReplicaSets are named prefix-N, and go at the end.
func (e *env) canaryFloor(ctx context.Context, runs int, prefix string, settled bool) ([]time.Duration, error) {
	return e.floor(ctx, floorKind{runs: runs, prefix: prefix, settled: settled})
}

// floorKind is how a floor runs: its runs, its ReplicaSets' prefix, whether a round
// waits for the old version's pods (settled), and whether a held Deployment owns the
// ReplicaSets (held: paused, Recreate, the new version's template, as Ferry's canary
// holds the app's Deployment), so that its controller follows them.
type floorKind struct {
	runs          int
	prefix        string
	settled, held bool
}

// floor times k.runs runs of a floor of kind k.
func (e *env) floor(ctx context.Context, k floorKind) ([]time.Duration, error) {
	runs, prefix, settled := k.runs, k.prefix, k.settled
	rsw, err := e.watchReplicaSets(ctx)
	if err != nil {
		return nil, err
	}
	defer rsw.w.Stop()
	rss := e.cs.AppsV1().ReplicaSets(floorNamespace)
	stable := prefix + "-0"
	var owner *appsv1.Deployment
	if k.held {
		if owner, err = e.cs.AppsV1().Deployments(floorNamespace).Create(ctx, heldFloorDeployment(prefix, stable), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
		defer e.cs.AppsV1().Deployments(floorNamespace).Delete(context.WithoutCancel(ctx), prefix, metav1.DeleteOptions{}) //nolint:errcheck // the cluster goes with the benchmark
	}
	if _, err := rss.Create(ctx, floorSet(owner, stable, 5), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if err := rsw.until(ctx, func() bool { return rsw.available(stable) == 5 }); err != nil {
		return nil, e.stuck(ctx, rsw, err)
	}
	var out []time.Duration
	for i := 1; i <= runs; i++ {
		canary := fmt.Sprintf("%s-%d", prefix, i)
		start := time.Now()
		if err := e.floorRun(ctx, rsw, owner, stable, canary, settled); err != nil {
			return nil, e.stuck(ctx, rsw, err)
		}
		out = append(out, time.Since(start))
		if err := rss.Delete(ctx, stable, metav1.DeleteOptions{}); err != nil {
			return nil, err
		}
		stable = canary // the next run's old version, as a promoted canary is
	}
	return out, rss.Delete(ctx, stable, metav1.DeleteOptions{})
}

// floorRun is one canary: weights 20 and 60 with a 1 s pause after each, then all of it.
func (e *env) floorRun(ctx context.Context, rsw *rsWatch, owner *appsv1.Deployment, stable, canary string, settled bool) error {
	round := func(canaryPods, stablePods int32) func() bool {
		return func() bool {
			return rsw.available(canary) >= canaryPods && (!settled || rsw.pods(stable) == stablePods)
		}
	}
	rss := e.cs.AppsV1().ReplicaSets(floorNamespace)
	if owner != nil {
		// The hold: the Deployment takes the new version's template first.
		patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": floorTemplate(owner.Name, canary)}})
		if err != nil {
			return err
		}
		if _, err := e.cs.AppsV1().Deployments(floorNamespace).Patch(ctx, owner.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return err
		}
	}
	err := together(
		func() error {
			_, err := rss.Create(ctx, floorSet(owner, canary, 1), metav1.CreateOptions{})
			return err
		},
		func() error { return e.scaleRS(ctx, stable, 4) },
	)
	if err != nil {
		return err
	}
	if err := rsw.until(ctx, round(1, 4)); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if err := together(func() error { return e.scaleRS(ctx, canary, 3) }, func() error { return e.scaleRS(ctx, stable, 2) }); err != nil {
		return err
	}
	if err := rsw.until(ctx, round(3, 2)); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if err := together(func() error { return e.scaleRS(ctx, canary, 5) }, func() error { return e.scaleRS(ctx, stable, 0) }); err != nil {
		return err
	}
	return rsw.until(ctx, func() bool { return rsw.available(canary) == 5 && rsw.pods(stable) == 0 })
}

func (e *env) scaleRS(ctx context.Context, name string, n int32) error {
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
	_, err := e.cs.AppsV1().ReplicaSets(floorNamespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// together runs the writes at once, as a controller sends a canary's and a stable's
// scaling together, and returns the first error.
func together(writes ...func() error) error {
	errs := make(chan error, len(writes))
	for _, w := range writes {
		go func() { errs <- w() }()
	}
	var err error
	for range writes {
		err = errors.Join(err, <-errs)
	}
	return err
}

// floorSet is a floor's ReplicaSet: bare, or owned by the held Deployment with its
// template and the hash label its controller would add.
func floorSet(owner *appsv1.Deployment, name string, replicas int32) *appsv1.ReplicaSet {
	if owner == nil {
		return floorReplicaSet(name, replicas)
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: floorNamespace,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), Template: floorTemplate(owner.Name, name)},
	}
	rs.Spec.Template.Labels["pod-template-hash"] = name
	rs.Labels = rs.Spec.Template.Labels
	rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: rs.Spec.Template.Labels}
	return rs
}

// heldFloorDeployment is the held floor's Deployment, held for its first ReplicaSet.
func heldFloorDeployment(name, first string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: floorNamespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](5),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: floorTemplate(name, first),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Paused:   true,
		},
	}
}

// floorTemplate is the pod template of a held floor's version.
func floorTemplate(app, version string) corev1.PodTemplateSpec {
	var t corev1.PodTemplateSpec
	t.Labels = map[string]string{"app": app, "version": version}
	t.Spec.NodeSelector = map[string]string{"type": "kwok"}
	t.Spec.Tolerations = tolerateKwok()
	t.Spec.Containers = bareContainers()
	t.Spec.Containers[0].Image = "127.0.0.1:5000/bench/floor:" + version
	return t
}

func floorReplicaSet(name string, replicas int32) *appsv1.ReplicaSet {
	labels := map[string]string{"app": "floor", "rs": name}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: floorNamespace},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
		},
	}
	rs.Spec.Template.Labels = labels
	rs.Spec.Template.Spec.NodeSelector = map[string]string{"type": "kwok"}
	rs.Spec.Template.Spec.Tolerations = tolerateKwok()
	rs.Spec.Template.Spec.Containers = bareContainers()
	rs.Spec.Template.Spec.Containers[0].Image = "127.0.0.1:5000/bench/floor:" + name
	return rs
}

// rsWatch keeps the last status of the floor's ReplicaSets as its watch reports them.
type rsWatch struct {
	w    watch.Interface
	last map[string]appsv1.ReplicaSetStatus
}

func (e *env) watchReplicaSets(ctx context.Context) (*rsWatch, error) {
	w, err := e.cs.AppsV1().ReplicaSets(floorNamespace).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return &rsWatch{w: w, last: map[string]appsv1.ReplicaSetStatus{}}, nil
}

func (r *rsWatch) available(name string) int32 { return r.last[name].AvailableReplicas }

// pods is how many pods a ReplicaSet still has, terminating ones included.
func (r *rsWatch) pods(name string) int32 { return r.last[name].Replicas }

// errFloorTimeout is a floor's round that did not end within its minute.
var errFloorTimeout = errors.New("the floor's ReplicaSets did not get there within 1m")

// until reads the watch until done holds, for at most a minute.
func (r *rsWatch) until(ctx context.Context, done func() bool) error {
	timeout := time.After(time.Minute)
	for !done() {
		select {
		case ev, ok := <-r.w.ResultChan():
			if !ok {
				return errors.New("the watch of the floor's ReplicaSets ended")
			}
			if rs, isRS := ev.Object.(*appsv1.ReplicaSet); isRS {
				r.last[rs.Name] = rs.Status
			}
		case <-timeout:
			return errFloorTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// stuck adds to a floor's timeout what held it up: each ReplicaSet's pods as the watch
// last saw them and as the API server has them now, and every pod of the floor that is
// not ready, with its phase, node and conditions.
func (e *env) stuck(ctx context.Context, rsw *rsWatch, err error) error {
	if !errors.Is(err, errFloorTimeout) {
		return err
	}
	var b strings.Builder
	sets, lerr := e.cs.AppsV1().ReplicaSets(floorNamespace).List(ctx, metav1.ListOptions{})
	if lerr != nil {
		return fmt.Errorf("%w (listing its ReplicaSets: %w)", err, lerr)
	}
	for _, rs := range sets.Items {
		seen := rsw.last[rs.Name]
		fmt.Fprintf(&b, "; ReplicaSet %s: spec %d, the watch saw %d pods (%d available), the API server has %d (%d available)",
			rs.Name, ptr.Deref(rs.Spec.Replicas, 1), seen.Replicas, seen.AvailableReplicas, rs.Status.Replicas, rs.Status.AvailableReplicas)
	}
	pods, lerr := e.cs.CoreV1().Pods(floorNamespace).List(ctx, metav1.ListOptions{})
	if lerr != nil {
		return fmt.Errorf("%w%s (listing its pods: %w)", err, b.String(), lerr)
	}
	for _, p := range pods.Items {
		var conds []string
		ready := false
		for _, c := range p.Status.Conditions {
			conds = append(conds, fmt.Sprintf("%s=%s", c.Type, c.Status))
			ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
		}
		if !ready {
			fmt.Fprintf(&b, "; pod %s: %s on %q, deleting %t, conditions %s", p.Name, p.Status.Phase, p.Spec.NodeName, p.DeletionTimestamp != nil, strings.Join(conds, " "))
		}
	}
	return fmt.Errorf("%w%s", err, b.String())
}
