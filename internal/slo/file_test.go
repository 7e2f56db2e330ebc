package slo

import (
	"strings"
	"testing"
)

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name       string
		yaml       string
		comparison Comparison
		weights    []int
	}{
		{
			name:       "no comparison block: single_result, all, 1, avg",
			yaml:       "objectives: [{sli: a}]",
			comparison: Comparison{CompareWith: CompareSingle, IncludeResultWithScore: IncludeAll, NumberOfComparisonResults: 1, AggregateFunction: "avg"},
			weights:    []int{1},
		},
		{
			name:       "null comparison block counts as absent",
			yaml:       "comparison:\nobjectives: [{sli: a}]",
			comparison: Comparison{CompareWith: CompareSingle, IncludeResultWithScore: IncludeAll, NumberOfComparisonResults: 1, AggregateFunction: "avg"},
			weights:    []int{1},
		},
		{
			name:       "empty comparison block: 3 results, not the 1 Keptn's spec promises",
			yaml:       "comparison: {}\nobjectives: [{sli: a}]",
			comparison: Comparison{IncludeResultWithScore: IncludeAll, NumberOfComparisonResults: 3, AggregateFunction: "avg"},
			weights:    []int{1},
		},
		{
			name: "values as written are kept",
			yaml: "comparison: {compare_with: several_results, include_result_with_score: pass_or_warn, number_of_comparison_results: 5, aggregate_function: p90}\n" +
				"objectives: [{sli: a, weight: 0}, {sli: b, weight: 4}, {sli: c}]",
			comparison: Comparison{CompareWith: CompareSeveral, IncludeResultWithScore: IncludePassOrWarn, NumberOfComparisonResults: 5, AggregateFunction: "p90"},
			weights:    []int{1, 4, 1},
		},
		{
			name:       "number_of_comparison_results 0 becomes 3",
			yaml:       "comparison: {compare_with: several_results, number_of_comparison_results: 0}\nobjectives: [{sli: a}]",
			comparison: Comparison{CompareWith: CompareSeveral, IncludeResultWithScore: IncludeAll, NumberOfComparisonResults: 3, AggregateFunction: "avg"},
			weights:    []int{1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if f.Comparison != tt.comparison {
				t.Errorf("comparison = %+v, want %+v", f.Comparison, tt.comparison)
			}
			for i, w := range tt.weights {
				if f.Objectives[i].Weight != w {
					t.Errorf("objectives[%d].weight = %d, want %d", i, f.Objectives[i].Weight, w)
				}
			}
		})
	}
}

func TestParseKeptnExample(t *testing.T) {
	f, err := Parse([]byte(keptnExample))
	if err != nil {
		t.Fatal(err)
	}
	o := f.Objectives[0]
	if f.SpecVersion != "0.1.1" || o.SLI != "response_time_p95" || o.DisplayName != "Response time P95" ||
		len(o.Pass) != 1 || len(o.Pass[0].Criteria) != 2 || o.Warning[0].Criteria[0] != "<=800" ||
		f.TotalScore != (TotalScore{Pass: "90%", Warning: "75%"}) || !f.Objectives[2].KeySLI {
		t.Fatalf("parsed %+v", f)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", "slos: []", "field slos not found"},
		{"unknown objective key", "objectives: [{sli: a, threshold: x}]", "field threshold not found"},
		{"unknown comparison key", "comparison: {compare: single_result}", "field compare not found"},
		{"weight not a number", "objectives: [{sli: a, weight: heavy}]", "line 1"},
		{"negative weight", "objectives: [{sli: a}, {sli: b, weight: -2}]", "objectives[1].weight: -2 is negative"},
		{"negative count", "comparison: {number_of_comparison_results: -1}", "comparison.number_of_comparison_results"},
		{"missing sli", "objectives: [{pass: [{criteria: ['<1']}]}]", "objectives[0].sli: required"},
		{"empty file", "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// keptnExample is the slo.yaml of Keptn's documentation (Quality gates, SLO), with a key SLI.
const keptnExample = `---
spec_version: "0.1.1"
comparison:
  aggregate_function: "avg"
  compare_with: "single_result"
  include_result_with_score: "pass"
  number_of_comparison_results: 1
filter:
objectives:
  - sli: "response_time_p95"
    displayName: "Response time P95"
    key_sli: false
    pass:             # pass if (relative change <= 10% AND absolute value is < 600ms)
      - criteria:
          - "<=+10%"  # relative values require a prefixed sign (plus or minus)
          - "<600"    # absolute values only require a logical operator
    warning:          # if the response time is below 800ms, the result should be a warning
      - criteria:
          - "<=800"
    weight: 1
  - sli: "throughput"
    pass:
      - criteria:
          - ">4000"
  - sli: "error_rate"
    weight: 1
    key_sli: true
    pass:
      - criteria:
          - "<=1%"
    warning:
      - criteria:
          - "<=2%"
  - sli: "cpu_usage"  # no criteria: informational only
total_score:
  pass: "90%"
  warning: "75%"
`
