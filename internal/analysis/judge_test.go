package analysis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/judge"
)

// series answers a range query by the selector it holds: a stand-in for Prometheus in
// the table tests of how queries become samples (the real one is in the integration test).
type series map[string][]float64

func (s series) QueryRange(_ context.Context, query string, r promv1.Range, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	for sel, values := range s {
		if strings.Contains(query, sel) {
			if values == nil {
				return nil, nil, nil, errors.New("connection refused")
			}
			ss := &model.SampleStream{Metric: model.Metric{"pod": model.LabelValue(sel)}}
			for i, v := range values {
				ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(r.Start.Add(time.Duration(i) * r.Step).UnixNano()), Value: model.SampleValue(v)})
			}
			return model.Matrix{ss}, nil, nil, nil
		}
	}
	return model.Matrix{}, nil, nil, nil
}

func ramp(from, step float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = from + step*float64(i)
	}
	return out
}

func TestJudgeSamplesFromRangeQueries(t *testing.T) {
	tpl := &ferryv1.AnalysisTemplate{Spec: ferryv1.AnalysisTemplateSpec{Judge: &ferryv1.JudgeSpec{Metrics: []ferryv1.JudgeMetric{
		{Name: "latency", Query: `histogram_quantile(0.9, rate(x{$selector}[$interval]))`, Tolerance: "0.1"},
	}}}}
	vars := Vars{Interval: time.Minute, CanarySelector: `track="canary"`, BaselineSelector: `track="baseline"`}
	tests := []struct {
		name string
		data series
		want judge.Result
	}{
		{"slower canary fails", series{`track="canary"`: ramp(200, 1, 12), `track="baseline"`: ramp(100, 1, 12)}, judge.Fail},
		{"same canary passes", series{`track="canary"`: ramp(100, 1, 12), `track="baseline"`: ramp(100.5, 1, 12)}, judge.Pass},
		{"too few samples is inconclusive", series{`track="canary"`: ramp(200, 1, 4), `track="baseline"`: ramp(100, 1, 4)}, judge.Inconclusive},
		{"no canary data is inconclusive", series{`track="baseline"`: ramp(100, 1, 12)}, judge.Inconclusive},
		{"Prometheus down is inconclusive", series{`track="canary"`: nil, `track="baseline"`: nil}, judge.Inconclusive},
	}
	for _, tt := range tests {
		v, err := JudgeWith(context.Background(), tt.data, tpl, vars, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if v.Result != tt.want {
			t.Errorf("%s: %s (%s), want %s", tt.name, v.Result, v.Reason, tt.want)
		}
	}
}

func TestJudgeNeedsItsPlaceholders(t *testing.T) {
	tpl := &ferryv1.AnalysisTemplate{Spec: ferryv1.AnalysisTemplateSpec{Judge: &ferryv1.JudgeSpec{Metrics: []ferryv1.JudgeMetric{
		{Name: "latency", Query: `x{$selector,stage="$stag"}`}}}}}
	_, err := JudgeWith(context.Background(), series{}, tpl, Vars{CanarySelector: "a", BaselineSelector: "b"}, time.Now())
	if err == nil || !strings.Contains(err.Error(), `judge metric "latency"`) {
		t.Errorf("unknown placeholder: %v", err)
	}
	_, err = JudgeWith(context.Background(), series{}, tpl, Vars{CanarySelector: "a"}, time.Now())
	if err == nil || err.Error() != "the judge needs the canary's and the baseline's selectors" {
		t.Errorf("no baseline selector: %v", err)
	}
}
