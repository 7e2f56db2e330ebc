package judge

import (
	"errors"
	"fmt"
	"strings"
)

// Direction says which change of a metric is bad.
type Direction string

const (
	// Increase means the canary is worse when the metric rises (latency, error rate).
	Increase Direction = "increase"
	// Decrease means the canary is worse when the metric falls (throughput, success rate).
	Decrease Direction = "decrease"
	// Either means any change is bad.
	Either Direction = "either"
)

// ParseDirection reads a Direction from its name.
func ParseDirection(s string) (Direction, error) {
	switch d := Direction(s); d {
	case Increase, Decrease, Either:
		return d, nil
	}
	return "", fmt.Errorf("direction %q: want increase, decrease or either", s)
}

// Result is the outcome for a metric or a whole run.
type Result string

const (
	// Pass means no significant change beyond the tolerance in the bad direction.
	Pass Result = "pass"
	// Fail means a significant change beyond the tolerance in the bad direction.
	Fail Result = "fail"
	// Inconclusive means too little data, or the measurement failed; never a pass.
	Inconclusive Result = "inconclusive"
)

// OnInconclusive says what a caller should do with an inconclusive run.
type OnInconclusive string

const (
	// InconclusiveFail treats an inconclusive run as failed (the default).
	InconclusiveFail OnInconclusive = "fail"
	// InconclusivePause stops the rollout and waits for a person to decide.
	InconclusivePause OnInconclusive = "pause"
)

// Action is what the caller should do with the rollout.
type Action string

const (
	// Proceed means the canary passed.
	Proceed Action = "proceed"
	// Abort means roll the canary back.
	Abort Action = "abort"
	// Pause means hold the rollout for a person.
	Pause Action = "pause"
)

// Metric describes one measured quantity and what counts as a regression.
type Metric struct {
	// Name identifies the metric in the verdict.
	Name string `json:"name"`
	// Direction is the change that is bad; empty means Increase.
	Direction Direction `json:"direction"`
	// Critical marks a metric whose failure is reported as the reason the run failed, ahead
	// of other failures.
	Critical bool `json:"critical,omitempty"`
	// Tolerance is the relative change of the median allowed in the bad direction even when
	// it is significant: 0.1 lets a canary be 10% worse.
	Tolerance float64 `json:"tolerance"`
}

// MetricSamples are one metric's measurements of the canary and the baseline.
type MetricSamples struct {
	Metric   Metric
	Canary   []float64
	Baseline []float64
	// Err is the measurement's failure; the metric is then inconclusive.
	Err error
}

// Config holds the judge's thresholds; the zero value means the defaults.
type Config struct {
	// Confidence is 1 − the significance level; 0 means 0.98.
	Confidence float64
	// MinSamples is the fewest values each group needs after outlier removal; 0 means 10.
	MinSamples int
	// OutlierIQR is k in the fences [Q1 − k·IQR, Q3 + k·IQR]; 0 means 3, negative keeps
	// every value.
	OutlierIQR float64
	// OnInconclusive is what an inconclusive run asks for; empty means InconclusiveFail.
	OnInconclusive OnInconclusive
}

// Defaults of Config.
const (
	DefaultConfidence = 0.98
	DefaultMinSamples = 10
	DefaultOutlierIQR = 3
)

func (c Config) withDefaults() Config {
	if c.Confidence == 0 {
		c.Confidence = DefaultConfidence
	}
	if c.MinSamples == 0 {
		c.MinSamples = DefaultMinSamples
	}
	if c.OutlierIQR == 0 {
		c.OutlierIQR = DefaultOutlierIQR
	}
	if c.OnInconclusive == "" {
		c.OnInconclusive = InconclusiveFail
	}
	return c
}

// Validate reports a config the judge cannot use; zero values are valid (they mean the defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Confidence <= 0 || c.Confidence >= 1 {
		errs = append(errs, fmt.Errorf("confidence %v: want a value between 0 and 1", c.Confidence))
	}
	if c.MinSamples < 1 {
		errs = append(errs, fmt.Errorf("min samples %d: want at least 1", c.MinSamples))
	}
	if c.OnInconclusive != InconclusiveFail && c.OnInconclusive != InconclusivePause {
		errs = append(errs, fmt.Errorf("on inconclusive %q: want fail or pause", c.OnInconclusive))
	}
	return errors.Join(errs...)
}

// Verdict is the judge's decision on a run, with the evidence for each metric.
type Verdict struct {
	Result Result `json:"result"`
	// Action is what to do now; for an inconclusive run it follows Config.OnInconclusive.
	Action Action `json:"action"`
	// Reason is one sentence on why the run got its result.
	Reason  string          `json:"reason"`
	Metrics []MetricVerdict `json:"metrics"`
}

// Judge compares canary and baseline metric by metric. A metric fails when the change in its
// bad direction is significant (the one-sided p-value, or two-sided for Either, is below
// 1 − Confidence) and the relative change of the median exceeds its tolerance. The run
// fails if any metric fails, critical or not: a canary that regresses any watched metric
// is not promoted. Otherwise it is inconclusive if any metric is, or if there are no
// metrics; it passes only when every metric passed.
func Judge(cfg Config, samples []MetricSamples) Verdict {
	if err := cfg.Validate(); err != nil {
		return Verdict{Result: Inconclusive, Action: Abort, Reason: "invalid judge config: " + err.Error()}
	}
	cfg = cfg.withDefaults()
	v := Verdict{Metrics: make([]MetricVerdict, 0, len(samples))}
	for _, s := range samples {
		v.Metrics = append(v.Metrics, judgeMetric(cfg, s))
	}
	v.Result, v.Reason = summarise(v.Metrics, samples)
	v.Action = action(v.Result, cfg.OnInconclusive)
	return v
}

func action(r Result, on OnInconclusive) Action {
	switch {
	case r == Pass:
		return Proceed
	case r == Inconclusive && on == InconclusivePause:
		return Pause
	default:
		return Abort
	}
}

// summarise combines the metric results into the run's result and its reason.
func summarise(ms []MetricVerdict, samples []MetricSamples) (Result, string) {
	if len(ms) == 0 {
		return Inconclusive, "no metrics were judged"
	}
	var critical, failed, inconclusive []string
	errored := 0
	for i, m := range ms {
		switch m.Result {
		case Fail:
			if samples[i].Metric.Critical {
				critical = append(critical, m.Name)
			} else {
				failed = append(failed, m.Name)
			}
		case Inconclusive:
			inconclusive = append(inconclusive, m.Name)
		}
		if samples[i].Err != nil {
			errored++
		}
	}
	switch {
	case len(critical) > 0:
		return Fail, fmt.Sprintf("critical metric %s failed%s", list(critical), also(failed))
	case len(failed) > 0:
		return Fail, fmt.Sprintf("metric %s failed", list(failed))
	case errored == len(ms):
		return Inconclusive, "every measurement failed"
	case len(inconclusive) > 0:
		return Inconclusive, fmt.Sprintf("metric %s inconclusive and none failed", list(inconclusive))
	}
	return Pass, fmt.Sprintf("all %d metrics passed", len(ms))
}

func list(names []string) string { return strings.Join(names, ", ") }

func also(failed []string) string {
	if len(failed) == 0 {
		return ""
	}
	return "; also failed: " + list(failed)
}
