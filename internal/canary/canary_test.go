package canary

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"ferry.dev/ferry/internal/appfile"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		total          int32
		weight         int
		canary, stable int32
		share          int
	}{
		{5, 0, 0, 5, 0},
		{5, 20, 1, 4, 20},
		{5, 60, 3, 2, 60},
		{5, 100, 5, 0, 100},
		{10, 25, 3, 7, 30},
		{1, 20, 1, 1, 50},
		{2, 50, 1, 1, 50},
		{2, 99, 2, 1, 66},
		{0, 50, 1, 1, 50},
	}
	for _, tt := range tests {
		c, s := Split(tt.total, tt.weight)
		if c != tt.canary || s != tt.stable {
			t.Errorf("Split(%d, %d) = %d, %d; want %d, %d", tt.total, tt.weight, c, s, tt.canary, tt.stable)
		}
		if got := Share(c, s); got != tt.share {
			t.Errorf("Share(%d, %d) = %d; want %d", c, s, got, tt.share)
		}
	}
}

func intp(n int) *int { return &n }

func TestSteps(t *testing.T) {
	steps := Steps(&appfile.Canary{Steps: []appfile.CanaryStep{
		{SetWeight: intp(20)},
		{Pause: &appfile.Pause{Duration: "1s"}},
		{Analysis: &appfile.AnalysisStep{Templates: []string{"errors"}}},
		{Pause: &appfile.Pause{}},
		{Analysis: &appfile.AnalysisStep{Templates: []string{"a", "b"}, Measurements: intp(3), Inconclusive: "pause"}},
	}})
	want := []Step{
		{Kind: SetWeight, Weight: 20},
		{Kind: Pause, Duration: time.Second},
		{Kind: Analysis, Templates: []string{"errors"}, Measurements: 1, Inconclusive: "fail"},
		{Kind: Pause},
		{Kind: Analysis, Templates: []string{"a", "b"}, Measurements: 3, Inconclusive: "pause"},
	}
	if !reflect.DeepEqual(steps, want) {
		t.Errorf("Steps = %+v\nwant %+v", steps, want)
	}
	var names []string
	for _, s := range steps {
		names = append(names, s.String())
	}
	if got := names; !reflect.DeepEqual(got, []string{"setWeight 20%", "pause 1s", "analysis [errors]", "pause until resumed", "analysis [a b]"}) {
		t.Errorf("String = %q", got)
	}
}

func TestShorthand(t *testing.T) {
	got := Steps(&appfile.Canary{Interval: "30s", Increase: "40%"})
	want := []Step{
		{Kind: SetWeight, Weight: 40}, {Kind: Pause, Duration: 30 * time.Second},
		{Kind: SetWeight, Weight: 80}, {Kind: Pause, Duration: 30 * time.Second},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Steps(shorthand) = %+v\nwant %+v", got, want)
	}
	if got := Steps(&appfile.Canary{Interval: "10", Increase: "100"}); len(got) != 0 {
		t.Errorf("increase 100%% has no steps before the promotion; got %+v", got)
	}
}

func TestSplitWithBaseline(t *testing.T) {
	tests := []struct {
		total                    int32
		weight                   int
		canary, baseline, stable int32
	}{
		{4, 25, 1, 1, 2},
		{4, 50, 2, 1, 1},
		{5, 20, 1, 1, 3},
		{10, 30, 3, 3, 4},
		{1, 20, 1, 0, 1},
		{4, 100, 4, 0, 0},
		{4, 0, 0, 0, 4},
	}
	for _, tt := range tests {
		c, b, s := SplitWithBaseline(tt.total, tt.weight)
		if c != tt.canary || b != tt.baseline || s != tt.stable {
			t.Errorf("SplitWithBaseline(%d, %d) = %d, %d, %d; want %d, %d, %d", tt.total, tt.weight, c, b, s, tt.canary, tt.baseline, tt.stable)
		}
	}
	no := false
	withAnalysis := &appfile.Canary{Steps: []appfile.CanaryStep{{SetWeight: intp(10)}, {Analysis: &appfile.AnalysisStep{Templates: []string{"t"}}}}}
	if !Baseline(withAnalysis) || Baseline(&appfile.Canary{Steps: []appfile.CanaryStep{{SetWeight: intp(10)}}}) {
		t.Error("a baseline by default exactly when a step is an analysis")
	}
	withAnalysis.Baseline = &no
	if Baseline(withAnalysis) {
		t.Error("baseline: false is kept")
	}
}

func TestRoutedSplit(t *testing.T) {
	for _, c := range []struct {
		total                int32
		weight               int
		ab, baseline         bool
		canary, base, stable int32
	}{
		{4, 0, false, true, 0, 0, 4},
		{4, 20, false, false, 1, 0, 4},
		{4, 20, false, true, 1, 1, 4},
		{4, 60, false, true, 3, 3, 4},
		{4, 100, false, true, 4, 0, 0},
		{5, 0, true, false, 3, 0, 5},
		{5, 0, true, true, 3, 3, 5},
		{1, 0, true, false, 1, 0, 1},
		{2, 100, true, true, 2, 0, 0},
		{0, 50, false, false, 1, 0, 1},
	} {
		cn, b, s := RoutedSplit(c.total, c.weight, c.ab, c.baseline)
		if cn != c.canary || b != c.base || s != c.stable {
			t.Errorf("RoutedSplit(%d, %d, ab %v, baseline %v) = %d, %d, %d; want %d, %d, %d", c.total, c.weight, c.ab, c.baseline, cn, b, s, c.canary, c.base, c.stable)
		}
	}
}

func TestABSteps(t *testing.T) {
	got := ABSteps(&appfile.ABTest{Header: "X-Canary"})
	if len(got) != 2 || got[0].Kind != Mark || got[1].Kind != Pause || got[1].Duration != 0 {
		t.Errorf("without steps: %v", got)
	}
	got = ABSteps(&appfile.ABTest{Cookie: "canary", Steps: []appfile.CanaryStep{{Analysis: &appfile.AnalysisStep{Templates: []string{"t"}}}}})
	if len(got) != 2 || got[0].String() != "marked requests to the new version" || got[1].Kind != Analysis {
		t.Errorf("with an analysis: %v", got)
	}
	if !ABBaseline(&appfile.ABTest{Steps: []appfile.CanaryStep{{Analysis: &appfile.AnalysisStep{Templates: []string{"t"}}}}}) || ABBaseline(&appfile.ABTest{}) {
		t.Error("ABBaseline")
	}
}

func TestBackgroundOf(t *testing.T) {
	if b := BackgroundOf(&appfile.Canary{Steps: []appfile.CanaryStep{{SetWeight: intp(20)}}}); b != nil {
		t.Errorf("a canary without a background analysis has %+v", b)
	}
	c := &appfile.Canary{Interval: "1m", Increase: "25%", Analysis: &appfile.BackgroundAnalysis{Templates: []string{"errors"}}}
	if b := BackgroundOf(c); b == nil || b.From != 0 || !slices.Equal(b.Templates, []string{"errors"}) {
		t.Errorf("from the start: %+v", b)
	}
	if !Baseline(c) {
		t.Error("a background analysis runs no baseline pods")
	}
	c.Analysis.StartingStep = intp(3)
	if b := BackgroundOf(c); b.From != 2 {
		t.Errorf("from step 3: %+v", b)
	}
	c.Baseline = new(bool)
	if Baseline(c) {
		t.Error("baseline: false ignored")
	}
}
