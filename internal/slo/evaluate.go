package slo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Result is one evaluation. The same shape is read back as an earlier result, where only
// Result and SLI matter.
type Result struct {
	// Result is pass, warning or fail.
	Result string `json:"result"`
	// Score is in percent and not rounded, as in Keptn.
	Score float64 `json:"score"`
	// Objectives are in file order; empty when the evaluation was aborted.
	Objectives []Objective `json:"objectives"`
	// SLI holds the value of every objective's SLI (null when it failed), so this result
	// can serve as an earlier result of the next evaluation.
	SLI map[string]*float64 `json:"sli,omitempty"`
	// Error says why the evaluation was aborted or has no objectives.
	Error string `json:"error,omitempty"`
}

// Objective is the verdict on one objective.
type Objective struct {
	SLI         string   `json:"sli"`
	DisplayName string   `json:"displayName,omitempty"`
	Value       *float64 `json:"value"`
	// Status is pass, warning, fail or info (no pass criteria: not scored).
	Status string  `json:"status"`
	Score  float64 `json:"score"`
	Weight int     `json:"weight"`
	KeySLI bool    `json:"keySli"`
	// PassTargets and WarningTargets list every criterion looked at, satisfied or not.
	PassTargets    []Target `json:"passTargets,omitempty"`
	WarningTargets []Target `json:"warningTargets,omitempty"`
	// ComparisonValue aggregates the earlier values; nil when there were none.
	ComparisonValue *float64 `json:"comparisonValue,omitempty"`
}

// Target is one criterion with the threshold it came to.
type Target struct {
	Criterion string `json:"criteria"`
	// TargetValue is nil when the criterion could not be parsed or was relative with no
	// earlier values (it then holds).
	TargetValue *float64 `json:"targetValue,omitempty"`
	Violated    bool     `json:"violated"`
	Error       string   `json:"error,omitempty"`
}

// Evaluate judges values (nil for an SLI that failed or is missing) against f. previous is
// the raw history of this app and stage, newest first: Evaluate itself picks the results
// Keptn's datastore query would return.
func Evaluate(f *File, values map[string]*float64, previous []Result) Result {
	if len(f.Objectives) == 0 {
		return failed("the SLO file has no objectives")
	}
	earlier := selectEarlier(f.Comparison, previous)
	res := Result{Objectives: make([]Objective, 0, len(f.Objectives)), SLI: map[string]*float64{}}
	var achieved, maximum float64
	keyFailed := false
	for i, spec := range f.Objectives {
		o, err := evaluateObjective(spec, values[spec.SLI], earlierValues(earlier, spec.SLI), f.Comparison.AggregateFunction)
		if err != nil {
			return failed(fmt.Sprintf("objectives[%d] (%s): %v", i, spec.SLI, err))
		}
		res.Objectives = append(res.Objectives, o)
		res.SLI[spec.SLI] = o.Value
		achieved += o.Score
		if o.Status != StatusInfo {
			maximum += float64(o.Weight)
		}
		keyFailed = keyFailed || (spec.KeySLI && o.Status == StatusFail)
	}
	verdict, score, err := total(f.TotalScore, achieved, maximum, keyFailed)
	if err != nil {
		return failed(err.Error())
	}
	res.Result, res.Score = verdict, score
	return res
}

func failed(reason string) Result {
	return Result{Result: StatusFail, Objectives: []Objective{}, Error: reason}
}

// selectEarlier keeps the first N earlier evaluations whose overall result the comparison
// includes; the objectives' own statuses and the earlier scores play no part.
func selectEarlier(c Comparison, history []Result) []Result {
	n := 3
	switch c.CompareWith {
	case CompareSingle:
		n = 1
	case CompareSeveral:
		n = c.NumberOfComparisonResults
	}
	var out []Result
	for _, r := range history {
		if len(out) == n {
			break
		}
		if includes(c.IncludeResultWithScore, r.Result) {
			out = append(out, r)
		}
	}
	return out
}

func includes(include, result string) bool {
	switch include {
	case IncludePass:
		return result == StatusPass
	case IncludePassOrWarn:
		return result == StatusPass || result == StatusWarning
	default:
		return true
	}
}

// earlierValues are sli's values in the chosen evaluations; failed ones (null) are skipped
// rather than counted, so they shrink the sample instead of dragging it to zero.
func earlierValues(earlier []Result, sli string) []float64 {
	var out []float64
	for _, r := range earlier {
		if v := r.SLI[sli]; v != nil {
			out = append(out, *v)
		}
	}
	return out
}

// evaluateObjective applies the order of Keptn's checks: informational, no value, pass,
// warning. Only an unparsable pass criterion is an error.
func evaluateObjective(spec ObjectiveSpec, value *float64, earlier []float64, fn string) (Objective, error) {
	o := Objective{SLI: spec.SLI, DisplayName: spec.DisplayName, Weight: spec.Weight, KeySLI: spec.KeySLI}
	if value != nil {
		v := *value
		o.Value = &v
	}
	switch {
	case len(spec.Pass) == 0:
		o.Status = StatusInfo
		return o, nil
	case value == nil:
		o.Status = StatusFail
		return o, nil
	}
	if len(earlier) > 0 {
		c := aggregate(fn, earlier)
		o.ComparisonValue = &c
	}
	passed, targets, err := evaluateSets(spec.Pass, *value, o.ComparisonValue)
	if err != nil {
		return o, fmt.Errorf("pass criterion: %w", err)
	}
	o.PassTargets = targets
	if passed {
		o.Status, o.Score = StatusPass, float64(spec.Weight)
		return o, nil
	}
	// An unparsable warning criterion just does not hold; Keptn does not abort for it.
	warned, targets, _ := evaluateSets(spec.Warning, *value, o.ComparisonValue)
	o.WarningTargets = targets
	if warned {
		o.Status, o.Score = StatusWarning, 0.5*float64(spec.Weight)
		return o, nil
	}
	o.Status = StatusFail
	return o, nil
}

// evaluateSets ORs the entries and ANDs the criteria inside each. Every criterion is
// evaluated, even after one entry holds, so the report shows every violation. err is the
// first unparsable criterion; that criterion counts as violated.
func evaluateSets(sets []Criteria, value float64, comparison *float64) (bool, []Target, error) {
	anyHolds := false
	var targets []Target
	var firstErr error
	for _, set := range sets {
		allHold := true
		for _, s := range set.Criteria {
			t, err := evaluateCriterion(s, value, comparison)
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%q: %w", s, err)
			}
			allHold = allHold && !t.Violated
			targets = append(targets, t)
		}
		anyHolds = anyHolds || allHold
	}
	return anyHolds, targets, firstErr
}

// evaluateCriterion checks one criterion. A relative one with no comparison value holds:
// the first release of an app has nothing to be compared with.
func evaluateCriterion(s string, value float64, comparison *float64) (Target, error) {
	t := Target{Criterion: s}
	c, err := parseCriterion(s)
	if err != nil {
		t.Violated, t.Error = true, err.Error()
		return t, err
	}
	target := c.value
	if c.relative {
		if comparison == nil {
			return t, nil
		}
		target = c.target(*comparison)
	}
	t.TargetValue = &target
	t.Violated = !holds(value, c.op, target)
	return t, nil
}

// total turns the objectives' scores into the verdict, in Keptn's order: the pass threshold
// must parse even when nothing is scored, and a key failure overrides any score.
func total(t TotalScore, achieved, maximum float64, keyFailed bool) (string, float64, error) {
	pass, err := threshold(t.Pass)
	if err != nil {
		return "", 0, fmt.Errorf("total_score.pass: %w", err)
	}
	if maximum == 0 {
		return StatusPass, 100, nil
	}
	// 100·(a/m), not 100·a/m: the float result must match Keptn's to the last digit.
	score := 100 * (achieved / maximum)
	switch {
	case keyFailed:
		return StatusFail, score, nil
	case score >= pass:
		return StatusPass, score, nil
	case t.Warning == "":
		return StatusFail, score, nil
	}
	warning, err := threshold(t.Warning)
	if err != nil {
		return "", 0, fmt.Errorf("total_score.warning: %w", err)
	}
	if score >= warning {
		return StatusWarning, score, nil
	}
	return StatusFail, score, nil
}

func threshold(s string) (float64, error) {
	if s == "" {
		return 0, errors.New("missing")
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a percentage", s)
	}
	return v, nil
}
