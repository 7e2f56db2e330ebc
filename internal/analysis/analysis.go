// Package analysis runs an AnalysisTemplate: it fills the template's variables into its
// PromQL SLI queries, sends them to a cluster's Prometheus, and judges the values against
// the template's Keptn SLO. A measurement that produced no value at all is inconclusive,
// never a pass.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"time"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/slo"
)

// Result is the verdict of one analysis.
type Result string

// The verdicts.
const (
	// Pass: the SLO passed.
	Pass Result = "pass"
	// Warning: the SLO's total score reached only its warning threshold.
	Warning Result = "warning"
	// Fail: the SLO failed, a key SLI failed, or the SLO could not be evaluated.
	Fail Result = "fail"
	// Inconclusive: no SLI returned a value (Prometheus down, no data), so nothing was
	// measured. Callers must not treat it as a pass.
	Inconclusive Result = "inconclusive"
)

// Report is the outcome of one analysis, with the evidence behind it.
type Report struct {
	// Result is the verdict.
	Result Result `json:"result"`
	// Reason says why an inconclusive analysis is one.
	Reason string `json:"reason,omitempty"`
	// At is the time the queries were evaluated at.
	At time.Time `json:"at"`
	// SLO is the SLO evaluation, objective by objective. It can serve as an earlier result
	// of the next analysis; an inconclusive one should not be kept for that.
	SLO slo.Result `json:"slo"`
	// Values holds every SLI's value, null when its query gave none.
	Values map[string]*float64 `json:"values"`
	// Errors says, for each SLI without a value, why.
	Errors map[string]string `json:"errors,omitempty"`
	// Queries are the queries as sent, variables filled in.
	Queries map[string]string `json:"queries"`
}

// Validate checks what the API server cannot: that the SLO parses and that each of its
// objectives names an SLI of the template. It returns the parsed SLO.
func Validate(tpl *ferryv1.AnalysisTemplate) (*slo.File, error) {
	if len(tpl.Spec.SLIs) == 0 {
		return nil, errors.New("spec.slis: at least one SLI is required")
	}
	for name, q := range tpl.Spec.SLIs {
		if name == "" || q == "" {
			return nil, fmt.Errorf("spec.slis[%q]: an SLI needs a name and a query", name)
		}
	}
	file, err := slo.Parse([]byte(tpl.Spec.SLO))
	if err != nil {
		return nil, fmt.Errorf("spec.slo: %w", err)
	}
	if len(file.Objectives) == 0 {
		return nil, errors.New("spec.slo: no objectives")
	}
	for i, o := range file.Objectives {
		if _, ok := tpl.Spec.SLIs[o.SLI]; !ok {
			return nil, fmt.Errorf("spec.slo: objectives[%d].sli %q is not in spec.slis (%v)", i, o.SLI, sortedKeys(tpl.Spec.SLIs))
		}
	}
	return file, nil
}

// Run validates and renders tpl, queries the Prometheus at promURL now, and evaluates the
// SLO against the values; previous are earlier SLO results of this app and stage, newest
// first, for relative criteria.
//
// An SLI without a value counts as Keptn counts it: its objective fails (an informational
// one stays informational), and the SLO decides the total. Only when no SLI at all has a
// value is the result Inconclusive, whatever the SLO would say. An invalid template, a
// variable that cannot be filled in, or a cancelled ctx is an error, not a verdict.
func Run(ctx context.Context, tpl *ferryv1.AnalysisTemplate, vars Vars, promURL string, previous []slo.Result) (Report, error) {
	file, err := Validate(tpl)
	if err != nil {
		return Report{}, err
	}
	queries, err := Render(tpl, vars)
	if err != nil {
		return Report{}, err
	}
	if promURL == "" {
		return Report{}, errors.New("no Prometheus URL")
	}
	at := time.Now()
	values, errs := Query(ctx, promURL, queries, at)
	if err := ctx.Err(); err != nil {
		return Report{}, fmt.Errorf("analysis interrupted: %w", err)
	}
	r := Report{At: at, SLO: slo.Evaluate(file, values, previous), Values: values, Queries: queries}
	if len(errs) > 0 {
		r.Errors = make(map[string]string, len(errs))
		for name, err := range errs {
			r.Errors[name] = err.Error()
		}
	}
	r.Result, r.Reason = verdict(values, r.SLO)
	return r, nil
}

// verdict is the SLO's result, unless nothing was measured.
func verdict(values map[string]*float64, res slo.Result) (Result, string) {
	for _, v := range values {
		if v != nil {
			return Result(res.Result), ""
		}
	}
	return Inconclusive, "no SLI returned a value"
}
