package promotion

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/analysis"
)

// backgroundStep names the background analysis's measurements in status.analyses.
const backgroundStep = "background"

// background runs a canary's background analysis beside its steps: from the start of
// its starting step until the last step has passed, each template is measured in each
// target one template interval after the step began, then one interval after each
// measurement. It returns how long until the next measurement (0 when none is due
// while the canary is where it is), or a step failure when a measurement failed or was
// inconclusive (no data is never a pass).
func (r *Reconciler) background(ctx context.Context, f *facts, ts []canaryTarget, plan canaryPlan) (time.Duration, error) {
	cs, b := f.prom.Status.Canary, plan.background
	if b == nil || int(cs.Step) < b.From || int(cs.Step) >= len(plan.steps) {
		return 0, nil
	}
	tpls, every, err := r.templates(ctx, f.prom.Namespace, b.Templates)
	if err != nil {
		return 0, err
	}
	if err := withPrometheus(ts); err != nil {
		return 0, err
	}
	if cs.BackgroundDueAt == nil {
		due := metav1.NewMicroTime(cs.StepStartedAt.Add(every))
		cs.BackgroundDueAt = &due
		r.event(f.prom, corev1.EventTypeNormal, "AnalysisStarted", ferryv1.StepDeploy,
			fmt.Sprintf("background analysis %s started at canary step %d", strings.Join(b.Templates, ", "), cs.Step+1))
	}
	if left := cs.BackgroundDueAt.Sub(r.Now()); left > 0 {
		return left, nil
	}
	vars, err := r.analysisVars(f)
	if err != nil {
		return 0, err
	}
	n := int32(measurementsDone(f.prom, backgroundStep) + 1) //nolint:gosec // one a template interval
	var bad []string
	for _, t := range ts {
		for _, tpl := range tpls {
			v, err := r.measureOne(ctx, f, tpl, t.cl, vars, backgroundStep, n)
			if err != nil {
				return 0, err
			}
			if v.Result != string(analysis.Pass) {
				bad = append(bad, fmt.Sprintf("analysis %s in %s %s: %s", tpl.Name, t.id, v.Result, v.Reason))
			}
		}
	}
	if len(bad) > 0 {
		return 0, fmt.Errorf("%w: %s", errStepFailed, strings.Join(bad, "; "))
	}
	due := metav1.NewMicroTime(r.Now().Add(every))
	cs.BackgroundDueAt = &due
	return every, nil
}

// withPrometheus checks every target names the Prometheus that analyses ask.
func withPrometheus(ts []canaryTarget) error {
	for _, t := range ts {
		if t.cl.Spec.PrometheusURL == "" {
			return &invalidError{fmt.Sprintf("analysis needs the Prometheus of cluster %s: its spec.prometheusURL is empty", t.id)}
		}
	}
	return nil
}

// sooner is the earlier of a step's wait and the background analysis's, where 0 is
// no timer (the step waits for an event).
func sooner(step, background time.Duration) time.Duration {
	if background > 0 && (step == 0 || background < step) {
		return background
	}
	return step
}
