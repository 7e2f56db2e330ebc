package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/appobject"
)

// canaryPauses is the time the benchmark canary spends in its pauses by design.
const canaryPauses = 2 * time.Second

// canaryFile is the benchmark canary: five simulated pods, setWeight 20, pause 1s,
// setWeight 60, pause 1s, then the promotion (Argo Rollouts' own benchmark shape).
const canaryFile = `build: {buildType: go, artifact: canary}
deploy:
  namespace: bench-dev
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary:
      steps: [{setWeight: 20}, {pause: {duration: 1s}}, {setWeight: 60}, {pause: {duration: 1s}}]
  helm:
    values:
      scaling: {enabled: false, min: 5}
      nodeSelector: {type: kwok}
      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
  stages:
    - {name: dev, namespace: bench-dev, target: [{cluster_id: [local]}]}
`

// CanaryRuns is how many canaries the canary benchmark times.
const CanaryRuns = 7

// Canary times canary releases of five simulated pods from the Release's creation to
// the Promotion seen Succeeded (every step passed, the stable Deployment runs the new
// version at full size and the canary is gone), and prints how far each run went
// beyond its 2 s of pauses.
func Canary(ctx context.Context, o Options) error {
	o = withDefaults(o)
	o.Apps = 1
	e, err := setUp(ctx, o)
	if err != nil {
		return err
	}
	defer e.stop()
	pw, err := e.watchPromotions(ctx)
	if err != nil {
		return err
	}
	defer pw.stop()
	f, err := appfile.LoadBytes("canary.yml", []byte(canaryFile), "", appfile.Options{})
	if err != nil {
		return err
	}
	app, err := appobject.Build(f, Namespace, nil)
	if err != nil {
		return err
	}
	if err := e.c.Create(ctx, app); err != nil {
		return err
	}
	var total, deploy []time.Duration
	tl := &timeline{}
	for i := 0; i <= CanaryRuns; i++ {
		if i == CanaryRuns {
			// The watches start before the clock, and what they first list (every object
			// there is) passes before it too: neither is the run's time.
			wctx, stop := context.WithCancel(ctx)
			defer stop()
			if err := e.watchTimeline(wctx, tl); err != nil {
				return err
			}
			time.Sleep(time.Second)
		}
		start := time.Now()
		tl.setStart(start)
		rel, err := e.release(ctx, "canary", fmt.Sprintf("1.0.%d", i))
		if err != nil {
			return err
		}
		prom := rel.Name + "-dev"
		if err := pw.wait(ctx, 2*time.Minute, func(_, ok map[string]time.Time) bool { _, done := ok[prom]; return done }); err != nil {
			return fmt.Errorf("%s: %w", prom, err)
		}
		if i == 0 {
			continue // the first release has no stable version: a plain rollout
		}
		p := &ferryv1.Promotion{}
		if err := e.c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: prom}, p); err != nil {
			return err
		}
		if p.Status.Canary == nil || p.Status.Canary.Phase != ferryv1.CanaryPromoting {
			return fmt.Errorf("%s ran no canary: %+v", prom, p.Status.Canary)
		}
		pw.mu.Lock()
		total = append(total, pw.succeeded[prom].Sub(start))
		pw.mu.Unlock()
		for _, c := range p.Status.Checkpoints {
			if c.Name == ferryv1.StepDeploy && c.StartedAt != nil && c.FinishedAt != nil {
				deploy = append(deploy, c.FinishedAt.Sub(c.StartedAt.Time))
			}
		}
		e.logf("%s: %s", prom, total[len(total)-1].Round(time.Millisecond))
	}
	fmt.Fprintf(o.Out, "\ntimeline of the last run, from the Release's creation:\n")
	tl.print(o.Out)
	floor, err := e.canaryFloor(ctx, CanaryRuns, "floor", false)
	if err != nil {
		return fmt.Errorf("the canary's floor: %w", err)
	}
	settled, err := e.canaryFloor(ctx, CanaryRuns, "settled", true)
	if err != nil {
		return fmt.Errorf("the canary's floor: %w", err)
	}
	held, err := e.floor(ctx, floorKind{runs: CanaryRuns, prefix: "held", settled: true, held: true})
	if err != nil {
		return fmt.Errorf("the canary's floor: %w", err)
	}
	slices.Sort(floor)
	slices.Sort(settled)
	slices.Sort(held)
	slices.Sort(total)
	slices.Sort(deploy)
	fmt.Fprintf(o.Out, "\ncanary of 5 simulated pods (setWeight 20, pause 1s, setWeight 60, pause 1s), %d runs:\n", len(total))
	fmt.Fprintf(o.Out, "release created -> verified: min %s  median %s  max %s; beyond the 2 s of pauses: median %s, max %s\n",
		pct(total, 0), pct(total, 50), pct(total, 100), pct(total, 50)-canaryPauses, pct(total, 100)-canaryPauses)
	fmt.Fprintf(o.Out, "the same rounds of pods and pauses on two bare ReplicaSets, scaled by the benchmark as soon as its watch saw each round done (the floor here): min %s  median %s  max %s; beyond the 2 s of pauses: median %s, max %s\n",
		pct(floor, 0), pct(floor, 50), pct(floor, 100), pct(floor, 50)-canaryPauses, pct(floor, 100)-canaryPauses)
	fmt.Fprintf(o.Out, "the same, each round done only once the old version's pods are also down to its count, as a canary that checks each weight waits for: min %s  median %s  max %s; beyond the 2 s of pauses: median %s, max %s\n",
		pct(settled, 0), pct(settled, 50), pct(settled, 100), pct(settled, 50)-canaryPauses, pct(settled, 100)-canaryPauses)
	fmt.Fprintf(o.Out, "the same, its ReplicaSets owned by a held Deployment (paused, Recreate, the new version's template), whose controller follows them: min %s  median %s  max %s; beyond the 2 s of pauses: median %s, max %s\n",
		pct(held, 0), pct(held, 50), pct(held, 100), pct(held, 50)-canaryPauses, pct(held, 100)-canaryPauses)
	fmt.Fprintf(o.Out, "deploy checkpoint (canary steps and promotion, second resolution): median %s\n", pct(deploy, 50))
	return nil
}
