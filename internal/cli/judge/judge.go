// Package judge implements `ferry judge`: compare a canary's measurements with a baseline's
// using internal/judge and print the verdict with its statistics. The exit code carries the
// result, so scripts can gate on it: 0 pass, 1 inconclusive (or a usage error), 2 fail.
package judge

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/judge"
)

// ResultError is returned when the verdict is not a pass; the verdict is already printed.
// ExitCode is the process exit code for it.
type ResultError struct{ Result judge.Result }

func (e *ResultError) Error() string { return "the canary's verdict is " + string(e.Result) }

// ExitCode is 2 for a fail and 1 for an inconclusive verdict.
func (e *ResultError) ExitCode() int {
	if e.Result == judge.Fail {
		return 2
	}
	return 1
}

type options struct {
	s          iostreams.Streams
	canary     string
	baseline   string
	name       string
	confidence float64
	direction  string
	tolerance  float64
	minSamples int
	outlierIQR float64
	output     string
}

// NewCommand returns the judge verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:           "judge --canary FILE --baseline FILE",
		Short:         "Judge a canary against its baseline with a Mann-Whitney U test (exit 0 pass, 1 inconclusive, 2 fail)",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.canary, "canary", "", "file of the canary's values: one number a line, or a JSON array")
	f.StringVar(&o.baseline, "baseline", "", "file of the baseline's values, in the same form")
	f.StringVar(&o.name, "name", "value", "name of the metric in the verdict")
	f.Float64Var(&o.confidence, "confidence", judge.DefaultConfidence, "confidence of the test, between 0 and 1")
	f.StringVar(&o.direction, "direction", string(judge.Increase), "the bad change: increase, decrease or either")
	f.Float64Var(&o.tolerance, "tolerance", 0, "relative change of the median allowed in the bad direction (0.1 = 10%)")
	f.IntVar(&o.minSamples, "min-samples", judge.DefaultMinSamples, "fewest values each group needs after outlier removal")
	f.Float64Var(&o.outlierIQR, "outlier-iqr", judge.DefaultOutlierIQR, "drop values beyond this many IQRs outside the quartiles; negative keeps all")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func (o *options) config() judge.Config {
	return judge.Config{Confidence: o.confidence, MinSamples: o.minSamples, OutlierIQR: o.outlierIQR}
}

func (o *options) validate() error {
	var errs []error
	if o.canary == "" || o.baseline == "" {
		errs = append(errs, errors.New("--canary and --baseline are required"))
	}
	if _, err := judge.ParseDirection(o.direction); err != nil {
		errs = append(errs, err)
	}
	if o.output != "text" && o.output != "json" {
		errs = append(errs, fmt.Errorf("output %q: want text or json", o.output))
	}
	if o.tolerance < 0 {
		errs = append(errs, fmt.Errorf("tolerance %v: want 0 or more", o.tolerance))
	}
	// Zero would silently mean the default in judge.Config; on the command line it is a mistake.
	if o.confidence == 0 || o.minSamples == 0 {
		errs = append(errs, errors.New("--confidence and --min-samples must not be 0"))
	}
	errs = append(errs, o.config().Validate())
	return errors.Join(errs...)
}

func (o *options) run() error {
	canary, err := readValues(o.canary)
	if err != nil {
		return err
	}
	baseline, err := readValues(o.baseline)
	if err != nil {
		return err
	}
	dir, _ := judge.ParseDirection(o.direction) // checked by validate
	m := judge.Metric{Name: o.name, Direction: dir, Tolerance: o.tolerance}
	v := judge.Judge(o.config(), []judge.MetricSamples{{Metric: m, Canary: canary, Baseline: baseline}})
	if err := o.print(v); err != nil {
		return err
	}
	if v.Result != judge.Pass {
		return &ResultError{Result: v.Result}
	}
	return nil
}

func (o *options) print(v judge.Verdict) error {
	if o.output == "json" {
		enc := json.NewEncoder(o.s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	w := o.s.Out
	fmt.Fprintf(w, "%s: %s (action: %s)\n", strings.ToUpper(string(v.Result)), v.Reason, v.Action)
	for _, m := range v.Metrics {
		fmt.Fprintf(w, "\n%s: %s\n  %s\n  criterion: %s\n", m.Name, m.Result, m.Reason, m.Criterion)
		fmt.Fprintf(w, "  samples: canary %d, baseline %d (removed %d)\n", m.CanaryCount, m.BaselineCount, m.Removed)
		fmt.Fprintf(w, "  medians: canary %.6g, baseline %.6g (effect %+.2f%%)\n", m.CanaryMedian, m.BaselineMedian, 100*m.Effect)
		fmt.Fprintf(w, "  U = %.6g, p = %.4g, rank-biserial = %.3f\n", m.U, m.PValue, m.RankBiserial)
	}
	return nil
}

// readValues reads a JSON array of numbers, or one number a line (blank lines and lines
// starting with # are skipped).
func readValues(path string) ([]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading values: %w", err)
	}
	if text := strings.TrimSpace(string(data)); strings.HasPrefix(text, "[") {
		var xs []float64
		if err := json.Unmarshal([]byte(text), &xs); err != nil {
			return nil, fmt.Errorf("reading %s as a JSON array of numbers: %w", path, err)
		}
		return xs, nil
	}
	var xs []float64
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		x, err := strconv.ParseFloat(line, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %q is not a number", path, i+1, line)
		}
		xs = append(xs, x)
	}
	return xs, nil
}
