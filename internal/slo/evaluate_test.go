package slo

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func f(v float64) *float64 { return &v }

// earlier builds a previous evaluation from its result and SLI name/value pairs; a value
// that is not a float64 (nil) stands for a failed SLI.
func earlier(result string, pairs ...any) Result {
	r := Result{Result: result, SLI: map[string]*float64{}}
	var name string
	for i, p := range pairs {
		if i%2 == 0 {
			name = p.(string)
			continue
		}
		r.SLI[name] = nil
		if v, ok := p.(float64); ok {
			r.SLI[name] = &v
		}
	}
	return r
}

// one is an SLO file with one objective on "rt" and thresholds 90%/75%.
func one(objective string) string {
	return "objectives:\n  - sli: rt\n    " + objective + "\ntotal_score: {pass: '90%', warning: '75%'}\n"
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name     string
		slo      string
		values   map[string]*float64
		previous []Result
		result   string
		score    float64
		statuses string // the objectives' statuses, space-separated
		err      string // part of Result.Error
	}{
		// Keptn's documentation example: pass if <=+10% and <600, warning if <=800.
		{name: "doc example: 520 within 10% of 500 and under 600", slo: keptnExample,
			values:   map[string]*float64{"response_time_p95": f(520), "throughput": f(4100), "error_rate": f(0), "cpu_usage": f(0.7)},
			previous: []Result{earlier("pass", "response_time_p95", 500.0, "error_rate", 0.0)},
			result:   "pass", score: 100, statuses: "pass pass pass info"},
		{name: "doc example: 560 is more than 10% over 500, but under 800", slo: keptnExample,
			values:   map[string]*float64{"response_time_p95": f(560), "throughput": f(4100), "error_rate": f(0)},
			previous: []Result{earlier("pass", "response_time_p95", 500.0, "error_rate", 0.0)},
			result:   "warning", score: 2.5 / 3 * 100, statuses: "warning pass pass info"},
		{name: "doc example: key SLI error_rate's <=1% is relative: 0.5 after 0 fails the gate", slo: keptnExample,
			values:   map[string]*float64{"response_time_p95": f(520), "throughput": f(4100), "error_rate": f(0.5)},
			previous: []Result{earlier("pass", "response_time_p95", 500.0, "error_rate", 0.0)},
			result:   "fail", score: 2.0 / 3 * 100, statuses: "pass pass fail info"},
		{name: "doc example: include pass skips the failed newest evaluation", slo: keptnExample,
			values: map[string]*float64{"response_time_p95": f(520), "throughput": f(4100), "error_rate": f(0)},
			previous: []Result{earlier("fail", "response_time_p95", 400.0, "error_rate", 0.0),
				earlier("pass", "response_time_p95", 500.0, "error_rate", 0.0)},
			result: "pass", score: 100, statuses: "pass pass pass info"},

		// Relative criteria without anything to compare with.
		{name: "no previous results: relative criterion holds", slo: one("pass: [{criteria: ['<=+10%']}]"),
			values: map[string]*float64{"rt": f(1e6)}, result: "pass", score: 100, statuses: "pass"},
		{name: "no previous results: AND-ed absolute criterion is still checked", slo: one("pass: [{criteria: ['<=+10%', '<600']}]\n    warning: [{criteria: ['<=800']}]"),
			values: map[string]*float64{"rt": f(700)}, result: "fail", score: 50, statuses: "warning"},
		{name: "no previous results: relative warning criterion holds too", slo: one("pass: [{criteria: ['<600']}]\n    warning: [{criteria: ['<=+5%']}]"),
			values: map[string]*float64{"rt": f(700)}, result: "fail", score: 50, statuses: "warning"},
		{name: "previous values all null: as if none", slo: one("pass: [{criteria: ['<=+10%']}]"),
			values: map[string]*float64{"rt": f(900)}, previous: []Result{earlier("pass", "rt", nil)},
			result: "pass", score: 100, statuses: "pass"},
		{name: "previous evaluation without the SLI: as if none", slo: one("pass: [{criteria: ['<=+10%']}]"),
			values: map[string]*float64{"rt": f(900)}, previous: []Result{earlier("pass", "other", 1.0)},
			result: "pass", score: 100, statuses: "pass"},

		// Comparison settings.
		{name: "several_results: avg of 3, a null one skipped", slo: "comparison: {compare_with: several_results, number_of_comparison_results: 3}\n" + one("pass: [{criteria: ['<=+0%']}]"),
			values:   map[string]*float64{"rt": f(150)},
			previous: []Result{earlier("pass", "rt", 100.0), earlier("fail", "rt", nil), earlier("pass", "rt", 200.0), earlier("pass", "rt", 9000.0)},
			result:   "pass", score: 100, statuses: "pass"},
		{name: "single_result ignores number_of_comparison_results", slo: "comparison: {compare_with: single_result, number_of_comparison_results: 3}\n" + one("pass: [{criteria: ['<=+0%']}]"),
			values:   map[string]*float64{"rt": f(150)},
			previous: []Result{earlier("pass", "rt", 100.0), earlier("pass", "rt", 200.0)},
			result:   "fail", score: 0, statuses: "fail"},
		{name: "comparison block without compare_with: 3 results", slo: "comparison: {aggregate_function: avg}\n" + one("pass: [{criteria: ['=0%']}]"),
			values:   map[string]*float64{"rt": f(200)},
			previous: []Result{earlier("pass", "rt", 100.0), earlier("pass", "rt", 200.0), earlier("pass", "rt", 300.0), earlier("pass", "rt", 1e9)},
			result:   "pass", score: 100, statuses: "pass"},
		{name: "pass_or_warn skips failed evaluations", slo: "comparison: {compare_with: several_results, number_of_comparison_results: 2, include_result_with_score: pass_or_warn}\n" + one("pass: [{criteria: ['=0%']}]"),
			values:   map[string]*float64{"rt": f(150)},
			previous: []Result{earlier("fail", "rt", 999.0), earlier("warning", "rt", 100.0), earlier("pass", "rt", 200.0)},
			result:   "pass", score: 100, statuses: "pass"},
		{name: "p90 aggregate", slo: "comparison: {compare_with: several_results, number_of_comparison_results: 11, aggregate_function: p90}\n" + one("pass: [{criteria: ['=0%']}]"),
			values: map[string]*float64{"rt": f(9.8)},
			previous: []Result{earlier("pass", "rt", 0.0), earlier("pass", "rt", 1.0), earlier("pass", "rt", 2.0), earlier("pass", "rt", 3.0),
				earlier("pass", "rt", 4.0), earlier("pass", "rt", 5.0), earlier("pass", "rt", 6.0), earlier("pass", "rt", 7.0),
				earlier("pass", "rt", 8.0), earlier("pass", "rt", 9.0), earlier("pass", "rt", 10.0)},
			result: "pass", score: 100, statuses: "pass"},
		{name: "unknown aggregate compares with 0", slo: "comparison: {aggregate_function: median}\n" + one("pass: [{criteria: ['<=+10%']}]"),
			values: map[string]*float64{"rt": f(1)}, previous: []Result{earlier("pass", "rt", 100.0)},
			result: "fail", score: 0, statuses: "fail"},
		{name: ">-5% and <-2 below the comparison value", slo: one("pass: [{criteria: ['>-5%', '<-2']}]"),
			values: map[string]*float64{"rt": f(96)}, previous: []Result{earlier("pass", "rt", 100.0)},
			result: "pass", score: 100, statuses: "pass"},

		// Combining criteria.
		{name: "pass entries are OR-ed", slo: one("pass: [{criteria: ['<10']}, {criteria: ['>100']}]"),
			values: map[string]*float64{"rt": f(200)}, result: "pass", score: 100, statuses: "pass"},
		{name: "criteria in one entry are AND-ed", slo: one("pass: [{criteria: ['>10', '<100']}]"),
			values: map[string]*float64{"rt": f(200)}, result: "fail", score: 0, statuses: "fail"},
		{name: "an entry with no criteria holds", slo: one("pass: [{criteria: []}]"),
			values: map[string]*float64{"rt": f(200)}, result: "pass", score: 100, statuses: "pass"},
		{name: "exact float comparison", slo: one("pass: [{criteria: ['=0.3']}]"),
			values: map[string]*float64{"rt": f(0.30000000000000004)}, result: "fail", score: 0, statuses: "fail"},

		// Values.
		{name: "null value fails, warning ignored", slo: one("pass: [{criteria: ['<1']}]\n    warning: [{criteria: ['<2']}]"),
			values: map[string]*float64{"rt": nil}, result: "fail", score: 0, statuses: "fail"},
		{name: "absent value fails", slo: one("pass: [{criteria: ['<1']}]"),
			values: map[string]*float64{}, result: "fail", score: 0, statuses: "fail"},
		{name: "SLIs without an objective are ignored", slo: one("pass: [{criteria: ['<1']}]"),
			values: map[string]*float64{"rt": f(0), "other": nil}, result: "pass", score: 100, statuses: "pass"},

		// Informational objectives.
		{name: "no pass criteria: info, not scored", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}, {sli: b}]\ntotal_score: {pass: '90%'}",
			values: map[string]*float64{"a": f(0), "b": f(5)}, result: "pass", score: 100, statuses: "pass info"},
		{name: "warning-only criteria: info, warning ignored", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}, {sli: b, warning: [{criteria: ['<1']}]}]\ntotal_score: {pass: '90%'}",
			values: map[string]*float64{"a": f(0), "b": f(5)}, result: "pass", score: 100, statuses: "pass info"},
		{name: "pass: [] is informational", slo: one("pass: []"),
			values: map[string]*float64{"rt": f(5)}, result: "pass", score: 100, statuses: "info"},
		{name: "informational key SLI with null value is no key failure", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}, {sli: b, key_sli: true}]\ntotal_score: {pass: '90%'}",
			values: map[string]*float64{"a": f(0), "b": nil}, result: "pass", score: 100, statuses: "pass info"},
		{name: "only informational objectives: pass, 100", slo: one("weight: 3"),
			values: map[string]*float64{}, result: "pass", score: 100, statuses: "info"},

		// Key SLIs.
		{name: "key SLI failing fails the total, score still reported", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}, {sli: b, pass: [{criteria: ['<1']}]}, {sli: k, key_sli: true, pass: [{criteria: ['<1']}]}]\ntotal_score: {pass: '50%', warning: '10%'}",
			values: map[string]*float64{"a": f(0), "b": f(0), "k": f(5)}, result: "fail", score: 200.0 / 3, statuses: "pass pass fail"},
		{name: "key SLI with null value fails the total", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}], weight: 9}, {sli: k, key_sli: true, pass: [{criteria: ['<1']}]}]\ntotal_score: {pass: '50%'}",
			values: map[string]*float64{"a": f(0), "k": nil}, result: "fail", score: 90, statuses: "pass fail"},
		{name: "key SLI at warning is no key failure", slo: "objectives: [{sli: k, key_sli: true, pass: [{criteria: ['<1']}], warning: [{criteria: ['<10']}]}]\ntotal_score: {pass: '50%'}",
			values: map[string]*float64{"k": f(5)}, result: "pass", score: 50, statuses: "warning"},

		// Weights and score.
		{name: "weights: 2 of 3 is 66.66666666666666, unrounded", slo: "objectives: [{sli: a, weight: 2, pass: [{criteria: ['<1']}]}, {sli: b, pass: [{criteria: ['<1']}]}]\ntotal_score: {pass: '90%', warning: '60%'}",
			values: map[string]*float64{"a": f(0), "b": f(5)}, result: "warning", score: 66.66666666666666, statuses: "pass fail"},
		{name: "weight 0 counts as 1, a warning as half", slo: "objectives: [{sli: a, weight: 0, pass: [{criteria: ['<1']}], warning: [{criteria: ['<9']}]}, {sli: b, pass: [{criteria: ['<1']}]}]\ntotal_score: {pass: '90%', warning: '75%'}",
			values: map[string]*float64{"a": f(5), "b": f(0)}, result: "warning", score: 75, statuses: "warning pass"},

		// Total score thresholds.
		{name: "score equal to the pass threshold passes", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}, {sli: b, pass: [{criteria: ['<1']}]}]\ntotal_score: {pass: '50%'}",
			values: map[string]*float64{"a": f(0), "b": f(5)}, result: "pass", score: 50, statuses: "pass fail"},
		{name: "thresholds without % and under warning: fail", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}, {sli: b, pass: [{criteria: ['<1']}]}]\ntotal_score: {pass: 90, warning: 60}",
			values: map[string]*float64{"a": f(0), "b": f(5)}, result: "fail", score: 50, statuses: "pass fail"},
		{name: "no warning threshold: below pass fails", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}, {sli: b, pass: [{criteria: ['<1']}]}]\ntotal_score: {pass: '90%'}",
			values: map[string]*float64{"a": f(0), "b": f(5)}, result: "fail", score: 50, statuses: "pass fail"},
		{name: "unparsable warning threshold is not read when the score passes", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}]\ntotal_score: {pass: '90%', warning: 'x'}",
			values: map[string]*float64{"a": f(0)}, result: "pass", score: 100, statuses: "pass"},

		// Aborted evaluations.
		{name: "missing total_score.pass: errored fail", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}]",
			values: map[string]*float64{"a": f(0)}, result: "fail", score: 0, err: "total_score.pass: missing"},
		{name: "missing total_score.pass fails even when nothing is scored", slo: "objectives: [{sli: a}]",
			values: map[string]*float64{"a": f(0)}, result: "fail", score: 0, err: "total_score.pass: missing"},
		{name: "unparsable total_score.pass", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}]\ntotal_score: {pass: 'ninety'}",
			values: map[string]*float64{"a": f(0)}, result: "fail", score: 0, err: "total_score.pass"},
		{name: "unparsable warning threshold when it is needed", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}]\ntotal_score: {pass: '90%', warning: 'x'}",
			values: map[string]*float64{"a": f(5)}, result: "fail", score: 0, err: "total_score.warning"},
		{name: "unparsable pass criterion aborts", slo: "objectives: [{sli: a, pass: [{criteria: ['<1']}]}, {sli: b, pass: [{criteria: ['<1']}, {criteria: ['600']}]}]\ntotal_score: {pass: '90%'}",
			values: map[string]*float64{"a": f(0), "b": f(0)}, result: "fail", score: 0, err: `objectives[1] (b): pass criterion: "600"`},
		{name: "unparsable pass criterion is not reached with a null value", slo: one("pass: [{criteria: ['600']}]"),
			values: map[string]*float64{"rt": nil}, result: "fail", score: 0, statuses: "fail"},
		{name: "unparsable warning criterion just does not hold", slo: one("pass: [{criteria: ['<1']}]\n    warning: [{criteria: ['<<9']}]"),
			values: map[string]*float64{"rt": f(5)}, result: "fail", score: 0, statuses: "fail"},
		{name: "unparsable warning criterion, another entry holds", slo: one("pass: [{criteria: ['<1']}]\n    warning: [{criteria: ['<<9']}, {criteria: ['<9']}]"),
			values: map[string]*float64{"rt": f(5)}, result: "fail", score: 50, statuses: "warning"},
		{name: "no objectives: fail, 0", slo: "total_score: {pass: '90%'}",
			values: map[string]*float64{"rt": f(5)}, result: "fail", score: 0, err: "no objectives"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, err := Parse([]byte(tt.slo))
			if err != nil {
				t.Fatal(err)
			}
			got := Evaluate(file, tt.values, tt.previous)
			if got.Result != tt.result || math.Abs(got.Score-tt.score) > 1e-9 {
				t.Errorf("result %s, score %v; want %s, %v (error %q)", got.Result, got.Score, tt.result, tt.score, got.Error)
			}
			var statuses []string
			for _, o := range got.Objectives {
				statuses = append(statuses, o.Status)
			}
			if s := strings.Join(statuses, " "); s != tt.statuses {
				t.Errorf("statuses %q, want %q", s, tt.statuses)
			}
			if tt.err == "" && got.Error != "" || !strings.Contains(got.Error, tt.err) {
				t.Errorf("error %q, want it to contain %q", got.Error, tt.err)
			}
		})
	}
}

func TestEvaluateReportsTargets(t *testing.T) {
	file, err := Parse([]byte(one("pass: [{criteria: ['<=+10%', '<600']}, {criteria: ['<100']}]\n    warning: [{criteria: ['<=800', '<<1']}]")))
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		criterion string
		value     float64 // -1: none
		violated  bool
	}
	flatten := func(ts []Target) []target {
		var out []target
		for _, x := range ts {
			v := -1.0
			if x.TargetValue != nil {
				v = *x.TargetValue
			}
			out = append(out, target{x.Criterion, v, x.Violated})
		}
		return out
	}
	tests := []struct {
		name                 string
		value                float64
		previous             []Result
		comparison           float64 // -1: none
		passTargets, warning []target
	}{
		{name: "every entry is evaluated and reported", value: 560, previous: []Result{earlier("pass", "rt", 500.0)}, comparison: 500,
			passTargets: []target{{"<=+10%", 550, true}, {"<600", 600, false}, {"<100", 100, true}},
			warning:     []target{{"<=800", 800, false}, {"<<1", -1, true}}},
		{name: "relative criterion without earlier values holds with no target", value: 50, comparison: -1,
			passTargets: []target{{"<=+10%", -1, false}, {"<600", 600, false}, {"<100", 100, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Evaluate(file, map[string]*float64{"rt": f(tt.value)}, tt.previous).Objectives[0]
			if got := flatten(o.PassTargets); !slices.Equal(got, tt.passTargets) {
				t.Errorf("pass targets %+v, want %+v", got, tt.passTargets)
			}
			if got := flatten(o.WarningTargets); !slices.Equal(got, tt.warning) {
				t.Errorf("warning targets %+v, want %+v", got, tt.warning)
			}
			if c := o.ComparisonValue; (c == nil) != (tt.comparison == -1) || c != nil && *c != tt.comparison {
				t.Errorf("comparison value %v, want %v", c, tt.comparison)
			}
		})
	}
}

// A result is the next evaluation's earlier result: that is how relative criteria work
// across releases.
func TestResultServesAsPrevious(t *testing.T) {
	file, err := Parse([]byte(one("pass: [{criteria: ['<=+10%']}]")))
	if err != nil {
		t.Fatal(err)
	}
	first := Evaluate(file, map[string]*float64{"rt": f(100), "unrelated": f(1)}, nil)
	if _, ok := first.SLI["unrelated"]; ok || first.SLI["rt"] == nil || *first.SLI["rt"] != 100 {
		t.Fatalf("first.SLI = %v, want only rt=100", first.SLI)
	}
	if r := Evaluate(file, map[string]*float64{"rt": f(111)}, []Result{first}); r.Result != "fail" {
		t.Fatalf("111 after 100 against <=+10%%: %s", r.Result)
	}
	if r := Evaluate(file, map[string]*float64{"rt": f(110)}, []Result{first}); r.Result != "pass" {
		t.Fatalf("110 after 100 against <=+10%%: %s", r.Result)
	}
}
