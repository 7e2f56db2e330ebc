package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// timeline records what the Deployments of bench-dev and the Promotions of the
// benchmark did, with when, to show where a run's time goes.
type timeline struct {
	mu    sync.Mutex
	start time.Time
	lines []string
}

// setStart begins the timeline anew at start: what came before is forgotten.
func (tl *timeline) setStart(start time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.start, tl.lines = start, nil
}

func (tl *timeline) add(format string, args ...any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.start.IsZero() {
		return
	}
	tl.lines = append(tl.lines, fmt.Sprintf("%7.3fs  ", time.Since(tl.start).Seconds())+fmt.Sprintf(format, args...))
}

func (tl *timeline) print(w io.Writer) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, l := range tl.lines {
		fmt.Fprintln(w, l)
	}
}

// watchTimeline follows Deployments in bench-dev and Promotions until ctx ends.
func (e *env) watchTimeline(ctx context.Context, tl *timeline) error {
	dw, err := e.cs.AppsV1().Deployments("bench-dev").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := ferryv1.AddToScheme(scheme); err != nil {
		return err
	}
	wc, err := client.NewWithWatch(e.rc, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	pw, err := wc.Watch(ctx, &ferryv1.PromotionList{}, client.InNamespace(Namespace))
	if err != nil {
		return err
	}
	rw, err := e.cs.AppsV1().ReplicaSets("bench-dev").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	podw, err := e.cs.CoreV1().Pods("bench-dev").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	go func() {
		for ev := range rw.ResultChan() {
			if rs, ok := ev.Object.(*appsv1.ReplicaSet); ok {
				s := rs.Status
				tl.add("replicaset %-26s %-8s spec %d, status %d ready %d available %d",
					rs.Name, ev.Type, *rs.Spec.Replicas, s.Replicas, s.ReadyReplicas, s.AvailableReplicas)
			}
		}
	}()
	go func() {
		for ev := range podw.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				tl.add("pod %-32s %-8s node %q phase %s ready %t deleting %t", p.Name, ev.Type, p.Spec.NodeName, p.Status.Phase, podReady(p), p.DeletionTimestamp != nil)
			}
		}
	}()
	go func() {
		for ev := range dw.ResultChan() {
			if d, ok := ev.Object.(*appsv1.Deployment); ok {
				s := d.Status
				tl.add("deployment %-14s %-8s spec %d, status %d updated %d ready %d available %d, generation %d observed %d",
					d.Name, ev.Type, *d.Spec.Replicas, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas, d.Generation, s.ObservedGeneration)
			}
		}
	}()
	relw, err := wc.Watch(ctx, &ferryv1.ReleaseList{}, client.InNamespace(Namespace))
	if err != nil {
		return err
	}
	go func() {
		for ev := range relw.ResultChan() {
			if rel, ok := ev.Object.(*ferryv1.Release); ok {
				tl.add("release %s %s", rel.Name, ev.Type)
			}
		}
	}()
	go func() {
		for ev := range pw.ResultChan() {
			if p, ok := ev.Object.(*ferryv1.Promotion); ok {
				msg := p.Status.Message
				for _, c := range p.Status.Checkpoints {
					if c.Name == ferryv1.StepDeploy {
						msg = c.Message
					}
				}
				tl.add("promotion %s %s: %s", p.Name, p.Status.Phase, msg)
			}
		}
	}()
	go func() {
		<-ctx.Done()
		dw.Stop()
		pw.Stop()
		rw.Stop()
		podw.Stop()
		relw.Stop()
	}()
	return nil
}

// podReady reports a pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
