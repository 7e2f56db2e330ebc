package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/appobject"
	"ferry.dev/ferry/internal/release"
)

// appFile is a benchmark application: its pods run on the simulated nodes; dev deploys
// by itself, stage and prod wait for approvers (so the scale run ends idle).
func appFile(name string, replicas, stages int) string {
	s := fmt.Sprintf(`build: {buildType: go, artifact: %s}
deploy:
  namespace: bench-dev
  releaseType: {deployTimeout: 900}
  helm:
    values:
      scaling: {enabled: false, min: %d}
      nodeSelector: {type: kwok}
      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
  stages:
    - {name: dev, namespace: bench-dev, target: [{cluster_id: [local]}]}
`, name, replicas)
	if stages == 3 {
		s += `    - {name: stage, namespace: bench-stage, target: [{cluster_id: [local]}], approvers: {groups: [bench-approvers]}}
    - {name: prod, namespace: bench-prod, target: [{cluster_id: [local]}], approvers: {groups: [bench-approvers]}}
`
	}
	return s
}

// createApp creates the Application as `ferry apply` does.
func (e *env) createApp(ctx context.Context, name string, replicas, stages int) error {
	f, err := appfile.LoadBytes(name+".yml", []byte(appFile(name, replicas, stages)), "", appfile.Options{})
	if err != nil {
		return err
	}
	app, err := appobject.Build(f, Namespace, nil)
	if err != nil {
		return err
	}
	return e.c.Create(ctx, app)
}

// pinned resolves image digests without a registry: simulated pods pull nothing.
type pinned struct{}

func (pinned) Digest(_ context.Context, ref string) (string, error) {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(ref))), nil
}

// release creates a Release of the app, as `ferry release` does.
func (e *env) release(ctx context.Context, app, version string) (*ferryv1.Release, error) {
	return release.Create(ctx, e.c, pinned{}, release.Options{Namespace: Namespace, Application: app,
		Image: "127.0.0.1:5000/bench/" + app + ":" + version, Version: version})
}

// promotionWatch records, for each Promotion, when it was first seen started (its first
// checkpoint written) and when it was first seen Succeeded.
type promotionWatch struct {
	mu        sync.Mutex
	started   map[string]time.Time
	succeeded map[string]time.Time
	changed   chan struct{}
	stop      func()
}

func (e *env) watchPromotions(ctx context.Context) (*promotionWatch, error) {
	scheme := runtime.NewScheme()
	if err := ferryv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	wc, err := client.NewWithWatch(e.rc, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	w, err := wc.Watch(ctx, &ferryv1.PromotionList{}, client.InNamespace(Namespace))
	if err != nil {
		return nil, err
	}
	pw := &promotionWatch{started: map[string]time.Time{}, succeeded: map[string]time.Time{}, changed: make(chan struct{}, 1), stop: w.Stop}
	go pw.run(w)
	return pw, nil
}

func (pw *promotionWatch) run(w watch.Interface) {
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*ferryv1.Promotion)
		if !ok {
			continue
		}
		now := time.Now()
		pw.mu.Lock()
		if _, seen := pw.started[p.Name]; !seen && len(p.Status.Checkpoints) > 0 {
			pw.started[p.Name] = now
		}
		if _, seen := pw.succeeded[p.Name]; !seen && p.Status.Phase == ferryv1.PromotionSucceeded {
			pw.succeeded[p.Name] = now
		}
		pw.mu.Unlock()
		select {
		case pw.changed <- struct{}{}:
		default:
		}
	}
}

// wait blocks until done holds or the timeout passes.
func (pw *promotionWatch) wait(ctx context.Context, timeout time.Duration, done func(started, succeeded map[string]time.Time) bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		pw.mu.Lock()
		ok := done(pw.started, pw.succeeded)
		pw.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-pw.changed:
		case <-deadline.C:
			return fmt.Errorf("not done within %s", timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
