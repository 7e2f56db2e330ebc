package slo

import (
	"math"
	"testing"
)

func TestParseCriterion(t *testing.T) {
	tests := []struct {
		in      string
		want    criterion
		wantErr bool
	}{
		{in: "<600", want: criterion{op: "<", value: 600}},
		{in: "<=800", want: criterion{op: "<=", value: 800}},
		{in: ">=1e3", want: criterion{op: ">=", value: 1000}},
		{in: "=0", want: criterion{op: "=", value: 0}},
		{in: "< = 5", want: criterion{op: "<=", value: 5}},
		{in: "<=+10%", want: criterion{op: "<=", value: 10, relative: true, percent: true, increase: true}},
		{in: ">-5%", want: criterion{op: ">", value: 5, relative: true, percent: true}},
		{in: "=0%", want: criterion{op: "=", value: 0, relative: true, percent: true, increase: true}},
		{in: "<=1%", want: criterion{op: "<=", value: 1, relative: true, percent: true, increase: true}},
		{in: "<+5", want: criterion{op: "<", value: 5, relative: true, increase: true}},
		{in: "<-5", want: criterion{op: "<", value: 5, relative: true}},
		{in: "600", wantErr: true},
		{in: "<", wantErr: true},
		{in: "<abc", wantErr: true},
		{in: "=<5", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseCriterion(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parsed as %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestRelativeTarget(t *testing.T) {
	tests := []struct {
		in         string
		comparison float64
		want       float64
	}{
		{"<=+10%", 500, 550},   // C·(100+x)/100
		{"<=10%", 500, 550},    // no sign: an increase
		{">-5%", 200, 190},     // C·(100−x)/100
		{"=0%", 7.25, 7.25},    // equal to C
		{"<+5", 10, 15},        // C+x
		{"<-5", 10, 5},         // C−x
		{"<=+10%", -100, -110}, // plain arithmetic, also for a negative C
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := parseCriterion(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.target(tt.comparison); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("target(%v) = %v, want %v", tt.comparison, got, tt.want)
			}
		})
	}
}

func TestAggregate(t *testing.T) {
	zeroToTen := []float64{10, 0, 9, 1, 8, 2, 7, 3, 6, 4, 5}
	tests := []struct {
		name   string
		fn     string
		values []float64
		want   float64
	}{
		{"avg", "avg", []float64{100, 200, 600}, 300},
		{"avg of one", "avg", []float64{42}, 42},
		{"p90 of 0..10 is 9.8 (the spec's example)", "p90", zeroToTen, 9.8},
		{"p50 interpolates", "p50", []float64{1, 2, 3, 4}, 2.5},
		{"p95 at or past the end is the max", "p95", []float64{3, 1, 2}, 3},
		{"p90 of one value", "p90", []float64{7}, 7},
		{"unknown function gives 0", "max", []float64{5, 6}, 0},
		{"upper-case name is unknown too", "AVG", []float64{5, 6}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := aggregate(tt.fn, tt.values); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("%s(%v) = %v, want %v", tt.fn, tt.values, got, tt.want)
			}
		})
	}
}

func TestComparableEvaluations(t *testing.T) {
	history := []Result{
		// Scores are only labels here: the filter reads the result, never the score.
		{Result: "fail", Score: 0},
		{Result: "warning", Score: 1},
		{Result: "pass", Score: 2},
		{Result: "fail", Score: 3},
		{Result: "pass", Score: 4},
		{Result: "pass", Score: 5},
	}
	tests := []struct {
		name string
		c    Comparison
		want []int // indexes into history
	}{
		{"single_result: the newest only", Comparison{CompareWith: CompareSingle, IncludeResultWithScore: IncludeAll, NumberOfComparisonResults: 5}, []int{0}},
		{"several_results: N of any result", Comparison{CompareWith: CompareSeveral, IncludeResultWithScore: IncludeAll, NumberOfComparisonResults: 2}, []int{0, 1}},
		{"pass: the filter runs before the limit", Comparison{CompareWith: CompareSeveral, IncludeResultWithScore: IncludePass, NumberOfComparisonResults: 2}, []int{2, 4}},
		{"pass_or_warn", Comparison{CompareWith: CompareSeveral, IncludeResultWithScore: IncludePassOrWarn, NumberOfComparisonResults: 3}, []int{1, 2, 4}},
		{"single_result with pass: the newest pass", Comparison{CompareWith: CompareSingle, IncludeResultWithScore: IncludePass}, []int{2}},
		{"compare_with empty or unknown: 3", Comparison{IncludeResultWithScore: IncludeAll, NumberOfComparisonResults: 5}, []int{0, 1, 2}},
		{"unknown include: all", Comparison{CompareWith: CompareSeveral, IncludeResultWithScore: "passed", NumberOfComparisonResults: 2}, []int{0, 1}},
		{"fewer than N available", Comparison{CompareWith: CompareSeveral, IncludeResultWithScore: IncludePass, NumberOfComparisonResults: 10}, []int{2, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := selectEarlier(tt.c, history)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d evaluations, want %v", len(got), tt.want)
			}
			for i, idx := range tt.want {
				if got[i].Score != float64(idx) {
					t.Fatalf("evaluation %d = %+v, want history[%d]", i, got[i], idx)
				}
			}
		})
	}
}
