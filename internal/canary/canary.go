// Package canary plans a canary release without a service mesh: the steps of a stage's
// canary strategy (setWeight, pause and analysis, or Keptn's interval-and-increase
// shorthand), and how many pods of each version a traffic weight needs when one Service
// spreads the traffic over the pods of both. The package decides; the promotion
// controller acts.
package canary

import (
	"fmt"
	"time"

	"ferry.dev/ferry/internal/appfile"
)

// Kind is what a step does.
type Kind string

// The kinds of step.
const (
	SetWeight Kind = "setWeight"
	Pause     Kind = "pause"
	Analysis  Kind = "analysis"
	// Mark starts an A/B test: the new version's pods start and the requests a header
	// or cookie marks go to them.
	Mark Kind = "mark"
)

// Step is one step of a canary release.
type Step struct {
	Kind Kind
	// Weight is a setWeight step's share of the traffic, in percent.
	Weight int
	// Duration is a pause's length; zero waits until a person resumes the release.
	Duration time.Duration
	// Templates, Measurements and Inconclusive are an analysis step's settings.
	Templates    []string
	Measurements int
	Inconclusive string
}

// String describes the step as people read it in the status.
func (s Step) String() string {
	switch s.Kind {
	case SetWeight:
		return fmt.Sprintf("setWeight %d%%", s.Weight)
	case Mark:
		return "marked requests to the new version"
	case Pause:
		if s.Duration == 0 {
			return "pause until resumed"
		}
		return "pause " + s.Duration.String()
	default:
		return fmt.Sprintf("analysis %v", s.Templates)
	}
}

// Steps expands a validated canary setting into its steps. Keptn's shorthand, add
// Increase percent every Interval, becomes setWeight and pause steps below 100%: the
// promotion to 100% follows the last step in either form.
func Steps(c *appfile.Canary) []Step {
	if c == nil {
		return nil
	}
	if len(c.Steps) == 0 {
		return shorthand(c)
	}
	out := make([]Step, 0, len(c.Steps))
	for _, st := range c.Steps {
		switch {
		case st.SetWeight != nil:
			out = append(out, Step{Kind: SetWeight, Weight: *st.SetWeight})
		case st.Pause != nil:
			d, _ := appfile.ParseDuration(string(st.Pause.Duration))
			if st.Pause.Duration == "" {
				d = 0
			}
			out = append(out, Step{Kind: Pause, Duration: d})
		case st.Analysis != nil:
			out = append(out, analysisStep(st.Analysis))
		}
	}
	return out
}

// Background is a canary's background analysis: its templates, measured from the
// start of step From (counted from 0) until the last step has passed.
type Background struct {
	Templates []string
	From      int
}

// BackgroundOf is a validated canary setting's background analysis, nil without one.
func BackgroundOf(c *appfile.Canary) *Background {
	if c == nil || c.Analysis == nil {
		return nil
	}
	b := &Background{Templates: c.Analysis.Templates}
	if c.Analysis.StartingStep != nil {
		b.From = *c.Analysis.StartingStep - 1
	}
	return b
}

// ABSteps are an A/B test's steps: the marking, then the app file's pause and analysis
// steps, or a pause until a person resumes the test when it has none.
func ABSteps(ab *appfile.ABTest) []Step {
	out := []Step{{Kind: Mark}}
	rest := Steps(&appfile.Canary{Steps: ab.Steps})
	if len(rest) == 0 {
		rest = []Step{{Kind: Pause}}
	}
	return append(out, rest...)
}

// ABBaseline is Baseline for an A/B test.
func ABBaseline(ab *appfile.ABTest) bool {
	return Baseline(&appfile.Canary{Steps: ab.Steps, Baseline: ab.Baseline})
}

func analysisStep(a *appfile.AnalysisStep) Step {
	s := Step{Kind: Analysis, Templates: a.Templates, Measurements: 1, Inconclusive: a.Inconclusive}
	if a.Measurements != nil {
		s.Measurements = *a.Measurements
	}
	if s.Inconclusive == "" {
		s.Inconclusive = appfile.InconclusiveFail
	}
	return s
}

func shorthand(c *appfile.Canary) []Step {
	interval, err := appfile.ParseDuration(string(c.Interval))
	inc := c.Increase.Percent()
	if err != nil || inc <= 0 {
		return nil
	}
	var out []Step
	for w := inc; w < 100; w += inc {
		out = append(out, Step{Kind: SetWeight, Weight: w}, Step{Kind: Pause, Duration: interval})
	}
	return out
}

// Split is how many pods of each version give the canary weight percent of the
// traffic out of total pods, when a Service spreads requests evenly over ready pods.
// The canary gets the weight's share rounded up (at least one pod for any weight above
// 0); the stable version the rest, but never fewer than one pod below 100%, so a small
// app's canary is compared against live stable traffic rather than taking it all.
func Split(total int32, weight int) (canary, stable int32) {
	if total < 1 {
		total = 1
	}
	switch {
	case weight <= 0:
		return 0, total
	case weight >= 100:
		return total, 0
	}
	canary = int32((int64(total)*int64(weight) + 99) / 100) //nolint:gosec // total is a replica count, weight below 100
	stable = max(total-canary, 1)
	return canary, stable
}

// Baseline reports whether a canary runs baseline pods: as it says, else when a step
// is an analysis or an analysis runs in the background.
func Baseline(c *appfile.Canary) bool {
	if c == nil {
		return false
	}
	if c.Baseline != nil {
		return *c.Baseline
	}
	if c.Analysis != nil {
		return true
	}
	for _, st := range c.Steps {
		if st.Analysis != nil {
			return true
		}
	}
	return false
}

// SplitWithBaseline is Split with baseline pods of the stable version beside the
// canary: as many as the canary has, taken from the stable pods, as far as that leaves
// the stable version one pod of its own (none at 100%).
func SplitWithBaseline(total int32, weight int) (canary, baseline, stable int32) {
	canary, stable = Split(total, weight)
	if weight <= 0 || weight >= 100 {
		return canary, 0, stable
	}
	baseline = max(min(canary, stable-1), 0)
	return canary, baseline, stable - baseline
}

// Share is the percentage of requests the canary gets with the given pods.
func Share(canary, stable int32) int {
	if canary+stable == 0 {
		return 0
	}
	return int(int64(canary) * 100 / int64(canary+stable))
}

// RoutedSplit is how many pods of each version run when a Gateway's route, not the pod
// count, splits the traffic. The stable version keeps every pod until the canary takes
// all the traffic, so putting the traffic back on it is only a route change; the
// canary gets the weight's share of the pods rounded up, an A/B test's new version
// half of them (it takes only marked requests), and the baseline as many as the canary.
func RoutedSplit(total int32, weight int, ab, withBaseline bool) (canary, baseline, stable int32) {
	total = max(total, 1)
	switch {
	case ab && weight < 100:
		canary = (total + 1) / 2
	case weight <= 0:
		return 0, 0, total
	case weight >= 100:
		return total, 0, 0
	default:
		canary = int32((int64(total)*int64(weight) + 99) / 100) //nolint:gosec // total is a replica count, weight below 100
	}
	if withBaseline {
		baseline = canary
	}
	return canary, baseline, total
}
