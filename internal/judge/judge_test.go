package judge

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// around returns n values spread evenly over [centre − 5, centre + 5].
func around(centre float64, n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = centre - 5 + 10*float64(i)/float64(n-1)
	}
	return xs
}

var (
	latency  = Metric{Name: "latency", Direction: Increase, Tolerance: 0.05}
	requests = Metric{Name: "requests", Direction: Decrease, Tolerance: 0.05}
	changes  = Metric{Name: "changes", Direction: Either, Tolerance: 0.05}
)

func TestJudge(t *testing.T) {
	errDown := errors.New("prometheus: connection refused")
	critical := latency
	critical.Critical = true
	tests := []struct {
		name       string
		cfg        Config
		samples    []MetricSamples
		want       Result
		wantAction Action
		wantReason string
		wantMetric []Result
	}{
		{name: "same distribution passes", samples: []MetricSamples{{Metric: latency, Canary: around(100, 30), Baseline: around(100, 30)}},
			want: Pass, wantAction: Proceed, wantReason: "all 1 metrics passed", wantMetric: []Result{Pass}},
		{name: "increase fails latency", samples: []MetricSamples{{Metric: latency, Canary: around(120, 30), Baseline: around(100, 30)}},
			want: Fail, wantAction: Abort, wantReason: "metric latency failed", wantMetric: []Result{Fail}},
		{name: "decrease is good for latency", samples: []MetricSamples{{Metric: latency, Canary: around(80, 30), Baseline: around(100, 30)}},
			want: Pass, wantAction: Proceed, wantMetric: []Result{Pass}},
		{name: "decrease fails requests", samples: []MetricSamples{{Metric: requests, Canary: around(80, 30), Baseline: around(100, 30)}},
			want: Fail, wantAction: Abort, wantMetric: []Result{Fail}},
		{name: "either fails both ways", samples: []MetricSamples{
			{Metric: changes, Canary: around(80, 30), Baseline: around(100, 30)},
			{Metric: changes, Canary: around(120, 30), Baseline: around(100, 30)}},
			want: Fail, wantAction: Abort, wantMetric: []Result{Fail, Fail}},
		{name: "significant but within tolerance", samples: []MetricSamples{{Metric: latency, Canary: around(104, 200), Baseline: around(100, 200)}},
			want: Pass, wantAction: Proceed, wantMetric: []Result{Pass}},
		{name: "too few samples is inconclusive, never pass", samples: []MetricSamples{{Metric: latency, Canary: around(100, 5), Baseline: around(100, 30)}},
			want: Inconclusive, wantAction: Abort, wantReason: "metric latency inconclusive and none failed", wantMetric: []Result{Inconclusive}},
		{name: "inconclusive may pause", cfg: Config{OnInconclusive: InconclusivePause},
			samples: []MetricSamples{{Metric: latency}},
			want:    Inconclusive, wantAction: Pause, wantMetric: []Result{Inconclusive}},
		{name: "every measurement errored", samples: []MetricSamples{{Metric: latency, Err: errDown}, {Metric: requests, Err: errDown}},
			want: Inconclusive, wantAction: Abort, wantReason: "every measurement failed", wantMetric: []Result{Inconclusive, Inconclusive}},
		{name: "no metrics", want: Inconclusive, wantAction: Abort, wantReason: "no metrics were judged"},
		{name: "a fail outweighs an inconclusive", samples: []MetricSamples{
			{Metric: latency, Canary: around(120, 30), Baseline: around(100, 30)}, {Metric: requests, Err: errDown}},
			want: Fail, wantAction: Abort, wantMetric: []Result{Fail, Inconclusive}},
		{name: "critical failure named first", samples: []MetricSamples{
			{Metric: requests, Canary: around(80, 30), Baseline: around(100, 30)},
			{Metric: critical, Canary: around(120, 30), Baseline: around(100, 30)}},
			want: Fail, wantAction: Abort, wantReason: "critical metric latency failed; also failed: requests", wantMetric: []Result{Fail, Fail}},
		{name: "outliers do not fail a canary", samples: []MetricSamples{{Metric: latency,
			Canary: append(around(100, 30), 1e6, 1e6, 1e6), Baseline: around(100, 30)}},
			want: Pass, wantAction: Proceed, wantMetric: []Result{Pass}},
		{name: "lower confidence finds a smaller shift", cfg: Config{Confidence: 0.5},
			samples: []MetricSamples{{Metric: Metric{Name: "latency"}, Canary: around(101, 30), Baseline: around(100, 30)}},
			want:    Fail, wantAction: Abort, wantMetric: []Result{Fail}},
		{name: "invalid config is inconclusive", cfg: Config{Confidence: 1.5},
			samples: []MetricSamples{{Metric: latency, Canary: around(100, 30), Baseline: around(100, 30)}},
			want:    Inconclusive, wantAction: Abort, wantReason: "invalid judge config: confidence 1.5: want a value between 0 and 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Judge(tt.cfg, tt.samples)
			if v.Result != tt.want || v.Action != tt.wantAction {
				t.Fatalf("got %s/%s (%s), want %s/%s", v.Result, v.Action, v.Reason, tt.want, tt.wantAction)
			}
			if tt.wantReason != "" && v.Reason != tt.wantReason {
				t.Errorf("reason %q, want %q", v.Reason, tt.wantReason)
			}
			if len(v.Metrics) != len(tt.wantMetric) {
				t.Fatalf("%d metric verdicts, want %d", len(v.Metrics), len(tt.wantMetric))
			}
			for i, m := range v.Metrics {
				if m.Result != tt.wantMetric[i] {
					t.Errorf("metric %d: %s (%s), want %s", i, m.Result, m.Reason, tt.wantMetric[i])
				}
				if m.Criterion == "" || m.Reason == "" {
					t.Errorf("metric %d does not explain itself: %+v", i, m)
				}
			}
		})
	}
}

func TestJudgeExplainsItself(t *testing.T) {
	v := Judge(Config{}, []MetricSamples{{Metric: latency,
		Canary: append(around(120, 30), math.NaN(), 1e6), Baseline: around(100, 30)}})
	m := v.Metrics[0]
	if m.CanaryCount != 30 || m.BaselineCount != 30 || m.Removed != 2 {
		t.Errorf("counts %d/%d removed %d, want 30/30 removed 2", m.CanaryCount, m.BaselineCount, m.Removed)
	}
	if m.CanaryMedian != 120 || m.BaselineMedian != 100 || math.Abs(m.Effect-0.2) > 1e-12 {
		t.Errorf("medians %v/%v effect %v, want 120/100 0.2", m.CanaryMedian, m.BaselineMedian, m.Effect)
	}
	if m.U != 900 || m.RankBiserial != 1 || m.PValue >= 0.02 {
		t.Errorf("U %v rank-biserial %v p %v, want 900, 1 and p < 0.02", m.U, m.RankBiserial, m.PValue)
	}
	for _, want := range []string{"one-sided", "an increase at 98% confidence (p < 0.02)", "more than 5.00%"} {
		if !strings.Contains(m.Criterion, want) {
			t.Errorf("criterion %q lacks %q", m.Criterion, want)
		}
	}
	if want := "significant increase: p = "; !strings.HasPrefix(m.Reason, want) || !strings.Contains(m.Reason, "median +20.00% exceeds the 5.00% tolerance") {
		t.Errorf("reason %q", m.Reason)
	}
}

func TestVerdictJSONCarriesMissingStatisticsAsNull(t *testing.T) {
	v := Judge(Config{}, []MetricSamples{
		{Metric: latency, Err: errors.New("timeout")},
		{Metric: requests, Canary: around(1, 30), Baseline: make([]float64, 30)},
	})
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out := string(data)
	for _, want := range []string{`"pValue":null`, `"reason":"the measurement failed: timeout"`, `"effect":null`, `"baselineMedian":0`} {
		if !strings.Contains(out, want) {
			t.Errorf("JSON lacks %s:\n%s", want, out)
		}
	}
}

// BenchmarkJudge2x10000 judges one metric on two groups of 10,000 latency-like samples.
func BenchmarkJudge2x10000(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // a fixed seed keeps the benchmark repeatable
	canary, baseline := make([]float64, 10000), make([]float64, 10000)
	for i := range canary {
		canary[i] = 100 * math.Exp(0.5*r.NormFloat64()+0.02)
		baseline[i] = 100 * math.Exp(0.5*r.NormFloat64())
	}
	samples := []MetricSamples{{Metric: latency, Canary: canary, Baseline: baseline}}
	b.ReportAllocs()
	for b.Loop() {
		Judge(Config{}, samples)
	}
}
