package analysis

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/model"

	"ferry.dev/ferry/internal/slo"
)

func ptr(v float64) *float64 { return &v }

func TestSampleValue(t *testing.T) {
	tests := []struct {
		name    string
		in      model.Value
		want    *float64
		wantErr string
	}{
		{name: "scalar", in: &model.Scalar{Value: 0.25}, want: ptr(0.25)},
		{name: "one sample", in: model.Vector{{Value: 42}}, want: ptr(42)},
		{name: "empty vector", in: model.Vector{}, wantErr: "no data"},
		{name: "nothing", in: nil, wantErr: "no data"},
		{name: "several series", in: model.Vector{{Value: 1}, {Value: 2}}, wantErr: "2 series, want one"},
		{name: "range vector", in: model.Matrix{}, wantErr: "a matrix, want a scalar or an instant vector"},
		{name: "NaN", in: model.Vector{{Value: model.SampleValue(math.NaN())}}, wantErr: "returned NaN"},
		{name: "infinity", in: &model.Scalar{Value: model.SampleValue(math.Inf(1))}, wantErr: "returned +Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sampleValue(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Fatalf("got %v, %v; want nil and an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got == nil || *got != *tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, *tt.want)
			}
		})
	}
	if _, err := sampleValue(model.Vector{}); !errors.Is(err, ErrNoData) {
		t.Errorf("an empty vector gives %v, want ErrNoData", err)
	}
}

func TestVerdict(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]*float64
		slo    string
		want   Result
	}{
		{"pass", map[string]*float64{"a": ptr(1), "b": ptr(2)}, slo.StatusPass, Pass},
		{"warning", map[string]*float64{"a": ptr(1)}, slo.StatusWarning, Warning},
		{"fail", map[string]*float64{"a": ptr(1)}, slo.StatusFail, Fail},
		{"partial failure follows the SLO", map[string]*float64{"a": ptr(1), "b": nil}, slo.StatusPass, Pass},
		{"nothing measured is inconclusive even if the SLO passes", map[string]*float64{"a": nil, "b": nil}, slo.StatusPass, Inconclusive},
		{"nothing measured is inconclusive, not fail", map[string]*float64{"a": nil}, slo.StatusFail, Inconclusive},
		{"no SLIs at all", nil, slo.StatusPass, Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := verdict(tt.values, slo.Result{Result: tt.slo})
			if got != tt.want {
				t.Fatalf("verdict %s, want %s", got, tt.want)
			}
			if (got == Inconclusive) != (reason != "") {
				t.Fatalf("reason %q for %s", reason, got)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	const objectives = "objectives:\n  - sli: error_rate\n    pass: [{criteria: [\"<0.01\"]}]\n"
	tests := []struct {
		name    string
		slis    map[string]string
		slo     string
		wantErr string
	}{
		{name: "valid", slis: map[string]string{"error_rate": "vector(0)"}, slo: objectives},
		{name: "no SLIs", slo: objectives, wantErr: "spec.slis: at least one SLI"},
		{name: "empty query", slis: map[string]string{"error_rate": ""}, slo: objectives, wantErr: `spec.slis["error_rate"]`},
		{name: "objective without a query", slis: map[string]string{"latency": "vector(0)"}, slo: objectives,
			wantErr: `objectives[0].sli "error_rate" is not in spec.slis ([latency])`},
		{name: "unparsable SLO", slis: map[string]string{"error_rate": "vector(0)"}, slo: "objectives: 3", wantErr: "spec.slo: parsing the SLO file"},
		{name: "empty SLO", slis: map[string]string{"error_rate": "vector(0)"}, slo: "", wantErr: "spec.slo: the SLO file is empty"},
		{name: "no objectives", slis: map[string]string{"error_rate": "vector(0)"}, slo: "spec_version: '1.0'\n", wantErr: "spec.slo: no objectives"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := template(tt.slis, 0)
			tpl.Spec.SLO = tt.slo
			_, err := Validate(tpl)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
