package judge

import (
	"encoding/json"
	"fmt"
	"math"
)

// MetricVerdict is the evidence and result for one metric. Statistics that could not be
// computed are NaN (null in JSON); a zero baseline median makes Effect infinite (null too).
type MetricVerdict struct {
	Name string `json:"name"`
	// CanaryCount and BaselineCount are the values tested, after removal.
	CanaryCount   int `json:"canaryCount"`
	BaselineCount int `json:"baselineCount"`
	// Removed counts values dropped from both groups: outliers, NaN and infinities.
	Removed        int     `json:"removed"`
	CanaryMedian   float64 `json:"canaryMedian"`
	BaselineMedian float64 `json:"baselineMedian"`
	// U is the Mann-Whitney statistic of the canary.
	U float64 `json:"u"`
	// PValue is for the test in the metric's bad direction (two-sided for Either).
	PValue float64 `json:"pValue"`
	// Effect is (canary median − baseline median) / |baseline median|: a relative change,
	// so one tolerance reads the same for milliseconds and for error ratios.
	Effect float64 `json:"effect"`
	// RankBiserial is 2U/(n1·n2) − 1, in [−1, 1]: positive when canary values tend to be
	// larger. It measures how separated the groups are, whatever their scale.
	RankBiserial float64 `json:"rankBiserial"`
	// Criterion says, in a sentence, what would make this metric fail.
	Criterion string `json:"criterion"`
	Result    Result `json:"result"`
	// Reason says, in a sentence, why the metric got its result.
	Reason string `json:"reason"`
}

// MarshalJSON writes statistics that are NaN or infinite as null, which JSON can carry.
func (m MetricVerdict) MarshalJSON() ([]byte, error) {
	type plain MetricVerdict
	return json.Marshal(struct {
		plain
		CanaryMedian   *float64 `json:"canaryMedian"`
		BaselineMedian *float64 `json:"baselineMedian"`
		U              *float64 `json:"u"`
		PValue         *float64 `json:"pValue"`
		Effect         *float64 `json:"effect"`
		RankBiserial   *float64 `json:"rankBiserial"`
	}{plain(m), finite(m.CanaryMedian), finite(m.BaselineMedian), finite(m.U),
		finite(m.PValue), finite(m.Effect), finite(m.RankBiserial)})
}

func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// judgeMetric cleans one metric's samples, tests them and explains the result.
func judgeMetric(cfg Config, s MetricSamples) MetricVerdict {
	dir := s.Metric.Direction
	if dir == "" {
		dir = Increase
	}
	alpha := 1 - cfg.Confidence
	nan := math.NaN()
	v := MetricVerdict{Name: s.Metric.Name, CanaryMedian: nan, BaselineMedian: nan, U: nan,
		PValue: nan, Effect: nan, RankBiserial: nan, Criterion: criterion(dir, alpha, cfg.Confidence, s.Metric.Tolerance)}
	if s.Err != nil {
		v.Result, v.Reason = Inconclusive, fmt.Sprintf("the measurement failed: %v", s.Err)
		return v
	}
	canary, baseline, removed := clean(s.Canary, s.Baseline, cfg.OutlierIQR)
	v.CanaryCount, v.BaselineCount, v.Removed = len(canary), len(baseline), removed
	v.CanaryMedian, v.BaselineMedian = quantile(canary, 0.5), quantile(baseline, 0.5)
	if len(canary) < cfg.MinSamples || len(baseline) < cfg.MinSamples {
		v.Result, v.Reason = Inconclusive, fmt.Sprintf("too few samples: canary %d, baseline %d, need %d each",
			len(canary), len(baseline), cfg.MinSamples)
		return v
	}
	v.U, v.PValue = mannWhitneySorted(canary, baseline, alternative(dir), Auto)
	v.Effect = relativeEffect(v.CanaryMedian, v.BaselineMedian)
	v.RankBiserial = 2*v.U/(float64(len(canary))*float64(len(baseline))) - 1
	v.Result, v.Reason = decide(dir, alpha, s.Metric.Tolerance, v.PValue, v.Effect)
	return v
}

func clean(canary, baseline []float64, iqr float64) (c, b []float64, removed int) {
	c, dropC := sortedFinite(canary)
	b, dropB := sortedFinite(baseline)
	c, outC := trimOutliers(c, iqr)
	b, outB := trimOutliers(b, iqr)
	return c, b, dropC + dropB + outC + outB
}

// alternative is the hypothesis that the canary moved in the bad direction.
func alternative(d Direction) Alternative {
	switch d {
	case Increase:
		return Greater
	case Decrease:
		return Less
	}
	return TwoSided
}

// badEffect is the part of the relative change that lies in the bad direction.
func badEffect(d Direction, effect float64) float64 {
	switch d {
	case Increase:
		return effect
	case Decrease:
		return -effect
	}
	return math.Abs(effect)
}

func decide(d Direction, alpha, tol, p, effect float64) (Result, string) {
	change := fmt.Sprintf("median %+.2f%%", 100*effect)
	if p >= alpha {
		return Pass, fmt.Sprintf("no significant %s: p = %.3g ≥ %.3g (%s)", word(d), p, alpha, change)
	}
	if bad := badEffect(d, effect); bad <= tol {
		return Pass, fmt.Sprintf("significant %s (p = %.3g < %.3g) but the %s is within the %.2f%% tolerance",
			word(d), p, alpha, change, 100*tol)
	}
	return Fail, fmt.Sprintf("significant %s: p = %.3g < %.3g and the %s exceeds the %.2f%% tolerance",
		word(d), p, alpha, change, 100*tol)
}

func word(d Direction) string {
	if d == Either {
		return "change"
	}
	return string(d)
}

func criterion(d Direction, alpha, confidence, tol float64) string {
	test := "one-sided"
	if d == Either {
		test = "two-sided"
	}
	return fmt.Sprintf("fails if a %s Mann-Whitney test finds a%s %s at %.4g%% confidence (p < %.3g) and the median moves more than %.2f%% that way",
		test, article(d), word(d), 100*confidence, alpha, 100*tol)
}

func article(d Direction) string {
	if d == Increase {
		return "n"
	}
	return ""
}
