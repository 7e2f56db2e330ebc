package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/judge"
)

// DefaultJudgeStep is the resolution of the judge's range queries when the template
// does not set one.
const DefaultJudgeStep = 5 * time.Second

// RangeQuerier is the part of the Prometheus HTTP API the judge uses; promv1.API has it.
type RangeQuerier interface {
	QueryRange(ctx context.Context, query string, r promv1.Range, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// Judge runs tpl's canary-versus-baseline judge against the Prometheus at promURL over
// the interval ending at: each metric's query is sent twice, $selector filled in with
// vars' canary selector and then its baseline selector, and every value of every series
// returned is a sample. A query that fails makes its metric inconclusive.
func Judge(ctx context.Context, tpl *ferryv1.AnalysisTemplate, vars Vars, promURL string, at time.Time) (judge.Verdict, error) {
	client, err := api.NewClient(api.Config{Address: promURL})
	if err != nil {
		return judge.Verdict{}, fmt.Errorf("prometheus %q: %w", promURL, err)
	}
	return JudgeWith(ctx, promv1.NewAPI(client), tpl, vars, at)
}

// JudgeWith is Judge through a given RangeQuerier.
func JudgeWith(ctx context.Context, q RangeQuerier, tpl *ferryv1.AnalysisTemplate, vars Vars, at time.Time) (judge.Verdict, error) {
	js := tpl.Spec.Judge
	if js == nil {
		return judge.Verdict{}, errors.New("the template has no judge")
	}
	cfg, err := judgeConfig(js)
	if err != nil {
		return judge.Verdict{}, err
	}
	if vars.Interval == 0 {
		vars.Interval = Interval(tpl)
	}
	if vars.CanarySelector == "" || vars.BaselineSelector == "" {
		return judge.Verdict{}, errors.New("the judge needs the canary's and the baseline's selectors")
	}
	step := DefaultJudgeStep
	if js.Step != nil && js.Step.Duration > 0 {
		step = js.Step.Duration
	}
	r := promv1.Range{Start: at.Add(-vars.Interval), End: at, Step: step}
	samples := make([]judge.MetricSamples, 0, len(js.Metrics))
	for _, m := range js.Metrics {
		metric, err := judgeMetric(m)
		if err != nil {
			return judge.Verdict{}, err
		}
		s := judge.MetricSamples{Metric: metric}
		for side, sel := range map[string]string{"canary": vars.CanarySelector, "baseline": vars.BaselineSelector} {
			values := vars.values()
			values["selector"] = sel
			query, err := expand(m.Query, values)
			if err != nil {
				return judge.Verdict{}, fmt.Errorf("judge metric %q: %w", m.Name, err)
			}
			got, err := rangeValues(ctx, q, query, r)
			if err != nil {
				s.Err = errors.Join(s.Err, fmt.Errorf("%s: %w", side, err))
			}
			if side == "canary" {
				s.Canary = got
			} else {
				s.Baseline = got
			}
		}
		samples = append(samples, s)
	}
	if err := ctx.Err(); err != nil {
		return judge.Verdict{}, fmt.Errorf("judge interrupted: %w", err)
	}
	return judge.Judge(cfg, samples), nil
}

func judgeConfig(js *ferryv1.JudgeSpec) (judge.Config, error) {
	cfg := judge.Config{MinSamples: int(js.MinSamples)}
	if js.Confidence != "" {
		c, err := strconv.ParseFloat(js.Confidence, 64)
		if err != nil {
			return cfg, fmt.Errorf("judge confidence %q: %w", js.Confidence, err)
		}
		cfg.Confidence = c
	}
	return cfg, cfg.Validate()
}

func judgeMetric(m ferryv1.JudgeMetric) (judge.Metric, error) {
	out := judge.Metric{Name: m.Name, Critical: m.Critical, Direction: judge.Increase}
	if m.Direction != "" {
		d, err := judge.ParseDirection(m.Direction)
		if err != nil {
			return out, fmt.Errorf("judge metric %q: %w", m.Name, err)
		}
		out.Direction = d
	}
	if m.Tolerance != "" {
		t, err := strconv.ParseFloat(m.Tolerance, 64)
		if err != nil {
			return out, fmt.Errorf("judge metric %q tolerance %q: %w", m.Name, m.Tolerance, err)
		}
		out.Tolerance = t
	}
	return out, nil
}

// rangeValues is every finite value of every series a range query returns.
func rangeValues(ctx context.Context, q RangeQuerier, query string, r promv1.Range) ([]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	res, _, _, err := q.QueryRange(ctx, query, r, promv1.WithTimeout(queryTimeout))
	if err != nil {
		return nil, err
	}
	m, ok := res.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("a range query gave a %s, want a matrix", res.Type())
	}
	var out []float64
	for _, series := range m {
		for _, p := range series.Values {
			if v := float64(p.Value); !math.IsNaN(v) && !math.IsInf(v, 0) {
				out = append(out, v)
			}
		}
	}
	if len(out) == 0 {
		return nil, ErrNoData
	}
	return out, nil
}
