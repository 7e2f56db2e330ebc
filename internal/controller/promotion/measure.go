package promotion

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/analysis"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/canary"
	"ferry.dev/ferry/internal/judge"
	"ferry.dev/ferry/internal/slo"
)

// +kubebuilder:rbac:groups=ferry.dev,resources=analysistemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;update

// Earlier SLO results are kept per application and stage in a ConfigMap, one key per
// template, newest first, so relative criteria (<=+10%) compare across releases.
const (
	historyKeep   = 20
	maxAnalyses   = 200
	historyPrefix = "ferry-slo-"
)

// measure runs an analysis step: each template is measured against the Prometheus of
// each target cluster, Measurements times one interval apart, the first one interval
// after the step began (so the window holds only the step's traffic). A failed
// measurement fails the step at once; an inconclusive one fails it too, or waits for a
// person when the step says inconclusive: pause. Every measurement is recorded in
// status.analyses with its values and criteria.
func (r *Reconciler) measure(ctx context.Context, f *facts, ts []canaryTarget, idx int, st canary.Step) (bool, time.Duration, error) {
	cs := f.prom.Status.Canary
	stepName := fmt.Sprintf("canary-%d", idx+1)
	tpls, every, err := r.templates(ctx, f.prom.Namespace, st.Templates)
	if err != nil {
		return false, 0, err
	}
	if err := withPrometheus(ts); err != nil {
		return false, 0, err
	}
	done := measurementsDone(f.prom, stepName)
	if pending := inconclusiveAt(f.prom, stepName, done); pending {
		if resumed(f.prom, idx) {
			return true, 0, nil
		}
		cs.Message = "the analysis was inconclusive; waiting for a person (ferry resume " + f.prom.Spec.Application + " " + f.prom.Spec.Stage + ")"
		return false, 0, nil
	}
	if done >= st.Measurements {
		return true, 0, nil
	}
	due := cs.StepStartedAt.Add(every * time.Duration(done+1))
	if left := due.Sub(r.Now()); left > 0 {
		cs.Message = fmt.Sprintf("measurement %d of %d at %s", done+1, st.Measurements, due.UTC().Format(timeOfDay))
		f.exactWait = true
		return false, left, nil
	}
	vars, err := r.analysisVars(f)
	if err != nil {
		return false, 0, err
	}
	var failures, inconclusive []string
	for _, t := range ts {
		for _, tpl := range tpls {
			v, err := r.measureOne(ctx, f, tpl, t.cl, vars, stepName, int32(done+1)) //nolint:gosec // at most 100 measurements
			if err != nil {
				return false, 0, err
			}
			switch v.Result {
			case string(analysis.Fail):
				failures = append(failures, fmt.Sprintf("analysis %s in %s failed: %s", tpl.Name, t.id, v.Reason))
			case string(analysis.Inconclusive):
				inconclusive = append(inconclusive, fmt.Sprintf("analysis %s in %s inconclusive: %s", tpl.Name, t.id, v.Reason))
			}
		}
	}
	switch {
	case len(failures) > 0:
		return false, 0, fmt.Errorf("%w: %s", errStepFailed, strings.Join(append(failures, inconclusive...), "; "))
	case len(inconclusive) > 0 && st.Inconclusive != appfile.InconclusivePause:
		return false, 0, fmt.Errorf("%w: %s (inconclusive is never a pass)", errStepFailed, strings.Join(inconclusive, "; "))
	case len(inconclusive) > 0:
		cs.Message = strings.Join(inconclusive, "; ") + "; waiting for a person (ferry resume " + f.prom.Spec.Application + " " + f.prom.Spec.Stage + ")"
		return false, 0, nil
	case done+1 < st.Measurements:
		cs.Message = fmt.Sprintf("measurement %d of %d passed", done+1, st.Measurements)
		f.exactWait = true
		return false, every, nil
	}
	return true, 0, nil
}

// templates reads the named AnalysisTemplates and checks them; every is the longest of
// their intervals, the pace of the measurements.
func (r *Reconciler) templates(ctx context.Context, ns string, names []string) ([]*ferryv1.AnalysisTemplate, time.Duration, error) {
	var out []*ferryv1.AnalysisTemplate
	var every time.Duration
	for _, name := range names {
		tpl := &ferryv1.AnalysisTemplate{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, tpl); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, 0, &invalidError{fmt.Sprintf("the AnalysisTemplate %s does not exist in %s", name, ns)}
			}
			return nil, 0, err
		}
		if _, err := analysis.Validate(tpl); err != nil {
			return nil, 0, &invalidError{fmt.Sprintf("AnalysisTemplate %s: %v", name, err)}
		}
		every = max(every, analysis.Interval(tpl))
		out = append(out, tpl)
	}
	return out, every, nil
}

// analysisVars fills the query placeholders: the canary's pods are the new version's
// (in the stable Deployment's ReplicaSet, or beside it through a route), the baseline's
// carry the track label, the stable pods the stable version.
func (r *Reconciler) analysisVars(f *facts) (analysis.Vars, error) {
	file, err := f.file()
	if err != nil {
		return analysis.Vars{}, &invalidError{err.Error()}
	}
	ns, err := f.namespace()
	if err != nil {
		return analysis.Vars{}, &invalidError{err.Error()}
	}
	app := file.App.Build.Artifact
	base := fmt.Sprintf(`namespace=%q,app_kubernetes_io_name=%q`, ns, app)
	v := analysis.Vars{App: app, Namespace: ns, Stage: f.stage.Name, Version: f.release.Spec.Version,
		CanarySelector: base + fmt.Sprintf(`,app_kubernetes_io_version=%q`, f.release.Spec.Version)}
	switch cs := f.prom.Status.Canary; {
	case cs != nil && cs.Baseline:
		v.BaselineSelector = base + `,ferry_dev_track="baseline"`
	case cs != nil:
		// No baseline pods: the stable version's own pods, canary and baseline tracks aside.
		v.BaselineSelector = base + fmt.Sprintf(`,app_kubernetes_io_version=%q,ferry_dev_track=""`, cs.StableVersion)
	}
	return v, nil
}

// measureOne measures one template in one cluster and records the verdict.
func (r *Reconciler) measureOne(ctx context.Context, f *facts, tpl *ferryv1.AnalysisTemplate, cl *ferryv1.Cluster, vars analysis.Vars, step string, n int32) (ferryv1.AnalysisVerdict, error) {
	history, err := r.sloHistory(ctx, f)
	if err != nil {
		return ferryv1.AnalysisVerdict{}, err
	}
	rep, err := analysis.Run(ctx, tpl, vars, cl.Spec.PrometheusURL, history[tpl.Name])
	if err != nil {
		if ctx.Err() != nil {
			return ferryv1.AnalysisVerdict{}, err
		}
		return ferryv1.AnalysisVerdict{}, &invalidError{fmt.Sprintf("analysis %s: %v", tpl.Name, err)}
	}
	v := verdictOf(rep, step, tpl.Name, cl.Name, n)
	if tpl.Spec.Judge != nil {
		jv, err := analysis.Judge(ctx, tpl, vars, cl.Spec.PrometheusURL, rep.At)
		if err != nil {
			if ctx.Err() != nil {
				return ferryv1.AnalysisVerdict{}, err
			}
			return ferryv1.AnalysisVerdict{}, &invalidError{fmt.Sprintf("analysis %s: %v", tpl.Name, err)}
		}
		withJudge(&v, jv)
	}
	f.prom.Status.Analyses = append(f.prom.Status.Analyses, v)
	if over := len(f.prom.Status.Analyses) - maxAnalyses; over > 0 {
		f.prom.Status.Analyses = f.prom.Status.Analyses[over:]
	}
	eventType := corev1.EventTypeNormal
	if v.Result != string(analysis.Pass) {
		eventType = corev1.EventTypeWarning
	}
	r.event(f.prom, eventType, "Analysis", step, fmt.Sprintf("analysis %s in %s: %s (%s)", tpl.Name, cl.Name, v.Result, v.Reason))
	if rep.Result != analysis.Inconclusive {
		if err := r.keepSLO(ctx, f, tpl.Name, rep.SLO); err != nil {
			return ferryv1.AnalysisVerdict{}, err
		}
	}
	return v, nil
}

// measurementsDone counts the measurements recorded for a step.
func measurementsDone(p *ferryv1.Promotion, step string) int {
	n := 0
	for _, v := range p.Status.Analyses {
		if v.Step == step {
			n = max(n, int(v.Measurement))
		}
	}
	return n
}

// inconclusiveAt reports whether measurement n of the step was inconclusive somewhere.
func inconclusiveAt(p *ferryv1.Promotion, step string, n int) bool {
	for _, v := range p.Status.Analyses {
		if v.Step == step && int(v.Measurement) == n && v.Result == string(analysis.Inconclusive) {
			return true
		}
	}
	return false
}

// verdictOf turns a report into the status's record of it.
func verdictOf(rep analysis.Report, step, tpl, cluster string, n int32) ferryv1.AnalysisVerdict {
	v := ferryv1.AnalysisVerdict{Step: step, Template: tpl, Cluster: cluster, Measurement: n, Result: string(rep.Result),
		At: metav1.NewTime(rep.At), Score: num(rep.SLO.Score)}
	var failed []string
	for _, o := range rep.SLO.Objectives {
		ov := ferryv1.ObjectiveVerdict{SLI: o.SLI, Status: o.Status, Score: num(o.Score), Error: rep.Errors[o.SLI]}
		if o.Value != nil {
			ov.Value = num(*o.Value)
		}
		for _, t := range o.PassTargets {
			ov.Criteria = append(ov.Criteria, criterionText(t))
		}
		if o.Status == "fail" {
			failed = append(failed, objectiveText(ov))
		}
		v.Objectives = append(v.Objectives, ov)
	}
	switch {
	case rep.Result == analysis.Inconclusive:
		v.Reason = rep.Reason + errorsText(rep.Errors)
	case len(failed) > 0:
		v.Reason = fmt.Sprintf("score %s; %s", v.Score, strings.Join(failed, "; "))
	case rep.SLO.Error != "":
		v.Reason = rep.SLO.Error
	default:
		v.Reason = "score " + v.Score
	}
	return v
}

// withJudge adds the judge's metrics to a verdict: a failed judge fails it, an
// inconclusive one makes a passing SLO inconclusive (too little data is never a pass).
func withJudge(v *ferryv1.AnalysisVerdict, jv judge.Verdict) {
	for _, m := range jv.Metrics {
		v.Judge = append(v.Judge, ferryv1.JudgeVerdict{Name: m.Name, Result: string(m.Result),
			CanaryCount: int32(m.CanaryCount), BaselineCount: int32(m.BaselineCount), //nolint:gosec // sample counts of one interval
			CanaryMedian: finiteNum(m.CanaryMedian), BaselineMedian: finiteNum(m.BaselineMedian), PValue: finiteNum(m.PValue),
			Effect: finiteNum(m.Effect), Criterion: m.Criterion, Reason: m.Reason})
	}
	switch {
	case jv.Result == judge.Fail:
		v.Result = string(analysis.Fail)
	case jv.Result == judge.Inconclusive && v.Result != string(analysis.Fail):
		v.Result = string(analysis.Inconclusive)
	}
	v.Reason += "; judge: " + jv.Reason
}

// finiteNum writes a statistic, or nothing when it is NaN or infinite.
func finiteNum(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return num(f)
}

func objectiveText(o ferryv1.ObjectiveVerdict) string {
	if o.Value == "" {
		return fmt.Sprintf("%s has no value (%s)", o.SLI, o.Error)
	}
	var violated []string
	for _, c := range o.Criteria {
		if strings.HasSuffix(c, ": violated") {
			violated = append(violated, strings.TrimSuffix(c, ": violated"))
		}
	}
	return fmt.Sprintf("%s = %s violates %s", o.SLI, o.Value, strings.Join(violated, ", "))
}

func criterionText(t slo.Target) string {
	s := t.Criterion
	if t.TargetValue != nil {
		s += " (target " + num(*t.TargetValue) + ")"
	}
	if t.Violated {
		return s + ": violated"
	}
	return s + ": met"
}

func errorsText(errs map[string]string) string {
	if len(errs) == 0 {
		return ""
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+errs[k])
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }

func historyName(f *facts) string {
	return historyPrefix + f.prom.Spec.Application + "-" + f.prom.Spec.Stage
}

// sloHistory reads the earlier SLO results of the application and stage, by template.
func (r *Reconciler) sloHistory(ctx context.Context, f *facts) (map[string][]slo.Result, error) {
	cm := &corev1.ConfigMap{}
	err := r.Get(ctx, client.ObjectKey{Namespace: f.prom.Namespace, Name: historyName(f)}, cm)
	if apierrors.IsNotFound(err) {
		return map[string][]slo.Result{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]slo.Result{}
	for k, v := range cm.Data {
		var rs []slo.Result
		if err := json.Unmarshal([]byte(v), &rs); err != nil {
			return nil, fmt.Errorf("reading %s/%s key %s: %w", cm.Namespace, cm.Name, k, err)
		}
		out[k] = rs
	}
	return out, nil
}

// keepSLO puts a result first in the template's history, keeping the newest ones.
func (r *Reconciler) keepSLO(ctx context.Context, f *facts, tpl string, res slo.Result) error {
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: f.prom.Namespace, Name: historyName(f)}
	err := r.Get(ctx, key, cm)
	create := apierrors.IsNotFound(err)
	if err != nil && !create {
		return err
	}
	var rs []slo.Result
	if v, ok := cm.Data[tpl]; ok {
		if err := json.Unmarshal([]byte(v), &rs); err != nil {
			return fmt.Errorf("reading %s key %s: %w", key, tpl, err)
		}
	}
	rs = append([]slo.Result{res}, rs...)
	rs = rs[:min(len(rs), historyKeep)]
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[tpl] = string(b)
	if create {
		cm.Name, cm.Namespace = key.Name, key.Namespace
		cm.Labels = map[string]string{ferryv1.LabelApplication: f.prom.Spec.Application, ferryv1.LabelStage: f.prom.Spec.Stage}
		return r.Create(ctx, cm)
	}
	return r.Update(ctx, cm)
}
