package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"

	"ferry.dev/ferry/internal/rollout"
)

// latency times, for each of LatencySamples fresh applications, the span from its
// Release's creation to its first Promotion's first step, one at a time.
func (e *env) latency(ctx context.Context, r *Report) error {
	pw, err := e.watchPromotions(ctx)
	if err != nil {
		return err
	}
	defer pw.stop()
	for i := range e.o.LatencySamples {
		if err := e.createApp(ctx, fmt.Sprintf("lat-%d", i), 1, 1); err != nil {
			return err
		}
	}
	for i := range e.o.LatencySamples {
		app := fmt.Sprintf("lat-%d", i)
		rel, err := e.release(ctx, app, "1.0.0")
		if err != nil {
			return err
		}
		created := time.Now()
		prom := rel.Name + "-dev"
		if err := pw.wait(ctx, 30*time.Second, func(started, _ map[string]time.Time) bool { _, ok := started[prom]; return ok }); err != nil {
			return fmt.Errorf("%s: %w", prom, err)
		}
		pw.mu.Lock()
		r.Latency = append(r.Latency, pw.started[prom].Sub(created))
		pw.mu.Unlock()
	}
	slices.Sort(r.Latency)
	e.logf("%d samples: p50 %s p99 %s", len(r.Latency), pct(r.Latency, 50), pct(r.Latency, 99))
	return nil
}

// overhead compares Ferry's delivery of a new version to dev with a bare rollout of the
// same Deployment change (5 replicas on simulated nodes), five times each.
func (e *env) overhead(ctx context.Context, r *Report) error {
	pw, err := e.watchPromotions(ctx)
	if err != nil {
		return err
	}
	defer pw.stop()
	const runs = 5
	if err := e.createApp(ctx, "over", 5, 1); err != nil {
		return err
	}
	for i := 0; i <= runs; i++ {
		rel, err := e.release(ctx, "over", fmt.Sprintf("1.0.%d", i))
		if err != nil {
			return err
		}
		start := time.Now()
		prom := rel.Name + "-dev"
		if err := pw.wait(ctx, 2*time.Minute, func(_, ok map[string]time.Time) bool { _, done := ok[prom]; return done }); err != nil {
			return fmt.Errorf("%s: %w", prom, err)
		}
		if i > 0 { // the first one creates the Deployment; the others change it
			pw.mu.Lock()
			r.FerryRollout = append(r.FerryRollout, pw.succeeded[prom].Sub(start))
			pw.mu.Unlock()
		}
	}
	bare, err := e.bareRollouts(ctx, runs)
	if err != nil {
		return err
	}
	r.BareRollout = bare
	slices.Sort(r.FerryRollout)
	slices.Sort(r.BareRollout)
	e.logf("ferry %v, bare %v", r.FerryRollout, r.BareRollout)
	return nil
}

// bareRollouts changes a 5-replica Deployment's image and waits, by watch, until the
// rollout is complete, as `kubectl rollout status` does.
func (e *env) bareRollouts(ctx context.Context, runs int) ([]time.Duration, error) {
	d := bareDeployment()
	d, err := e.cs.AppsV1().Deployments("bench-bare").Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	if err := e.waitRollout(ctx, d.Name); err != nil {
		return nil, err
	}
	var out []time.Duration
	for i := 1; i <= runs; i++ {
		d, err = e.cs.AppsV1().Deployments("bench-bare").Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		d.Spec.Template.Spec.Containers[0].Image = fmt.Sprintf("127.0.0.1:5000/bench/bare:1.0.%d", i)
		start := time.Now()
		if _, err := e.cs.AppsV1().Deployments("bench-bare").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			return nil, err
		}
		if err := e.waitRollout(ctx, d.Name); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

func (e *env) waitRollout(ctx context.Context, name string) error {
	w, err := e.cs.AppsV1().Deployments("bench-bare").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return err
	}
	defer w.Stop()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("watch of %s ended", name)
			}
			if d, isD := ev.Object.(*appsv1.Deployment); isD {
				if done, _ := rollout.Complete(d); done {
					return nil
				}
			}
		case <-timeout:
			return fmt.Errorf("rollout of %s not complete within 2m", name)
		}
	}
}

// scale creates Apps applications of three stages with a Release each, times until
// every dev Promotion succeeded, then reads the controller's memory and idle CPU.
func (e *env) scale(ctx context.Context, r *Report) error {
	pw, err := e.watchPromotions(ctx)
	if err != nil {
		return err
	}
	defer pw.stop()
	start := time.Now()
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range e.o.Apps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			app := fmt.Sprintf("app-%d", i)
			err := e.createApp(ctx, app, 1, 3)
			if err == nil {
				_, err = e.release(ctx, app, "1.0.0")
			}
			if err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, fmt.Errorf("%s: %w", app, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	r.CreateTime = time.Since(start)
	e.logf("%d applications and releases created in %s", e.o.Apps, r.CreateTime.Round(time.Millisecond))
	err = pw.wait(ctx, 30*time.Minute, func(_, succeeded map[string]time.Time) bool {
		n := 0
		for i := range e.o.Apps {
			if _, ok := succeeded[fmt.Sprintf("app-%d-1-0-0-dev", i)]; ok {
				n++
			}
		}
		return n == e.o.Apps
	})
	if err != nil {
		return err
	}
	r.Apps, r.AllVerified = e.o.Apps, time.Since(start)
	e.logf("all %d first stages verified after %s; waiting for every stage promotion to wait for approval", e.o.Apps, r.AllVerified.Round(time.Millisecond))
	// Idle means nothing left to do: each second stage waits for a person.
	if err := e.waitAll(ctx, ferryv1.PromotionWaitingApproval, "-1-0-0-stage"); err != nil {
		return err
	}
	time.Sleep(10 * time.Second)
	return e.idle(r)
}

// waitAll polls until the Promotion suffix of every scale application is in phase.
func (e *env) waitAll(ctx context.Context, phase ferryv1.PromotionPhase, suffix string) error {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		list := &ferryv1.PromotionList{}
		if err := e.c.List(ctx, list, client.InNamespace(Namespace)); err != nil {
			return err
		}
		n := 0
		for _, p := range list.Items {
			if strings.HasSuffix(p.Name, suffix) && strings.HasPrefix(p.Name, "app-") && p.Status.Phase == phase {
				n++
			}
		}
		if n == e.o.Apps {
			return nil
		}
		time.Sleep(2 * time.Second)
	}
	return fmt.Errorf("not every %s promotion reached %s within 10m", suffix, phase)
}

// idle reads the controller's resident memory and its CPU over IdleFor.
func (e *env) idle(r *Report) error {
	pid := e.ctl.Process.Pid
	before, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	t0 := time.Now()
	time.Sleep(e.o.IdleFor)
	after, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	r.IdleCPU = (after - before) / time.Since(t0).Seconds()
	r.RSS, err = rssBytes(pid)
	return err
}

func cmpErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}

func bareDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": "bare"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "bench-bare"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(5)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
		},
	}
	d.Spec.Template.Labels = labels
	d.Spec.Template.Spec.NodeSelector = map[string]string{"type": "kwok"}
	d.Spec.Template.Spec.Tolerations = tolerateKwok()
	d.Spec.Template.Spec.Containers = bareContainers()
	return d
}
