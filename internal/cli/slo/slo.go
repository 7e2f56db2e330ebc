// Package slo implements `ferry slo eval`: a stand-alone quality gate that judges SLI values
// against a Keptn slo.yaml and exits 0 on pass, 1 on warning and 2 on fail, so a pipeline
// can gate on it without a cluster.
package slo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/cli/verdict"
	"ferry.dev/ferry/internal/slo"
)

// ErrVerdict is wrapped by the ExitError of a verdict other than pass, printed already.
var ErrVerdict = verdict.ErrPrinted

// ExitError carries the exit code: 1 for warning and inconclusive, 2 for fail and for
// any error.
type ExitError = verdict.ExitError

type evalOptions struct {
	s        iostreams.Streams
	sloPath  string
	values   string
	previous string
	output   string
}

// NewCommand returns the slo verb with its eval subcommand.
func NewCommand(s iostreams.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "slo",
		Short: "Work with SLO files in Keptn's slo.yaml format",
	}
	cmd.AddCommand(newEval(s))
	return cmd
}

func newEval(s iostreams.Streams) *cobra.Command {
	o := &evalOptions{s: s}
	cmd := &cobra.Command{
		Use:   "eval --slo SLO.yaml --values VALUES.json [--previous PREVIOUS.json]",
		Short: "Evaluate SLI values against an slo.yaml (exit 0 pass, 1 warning, 2 fail)",
		Long: "VALUES maps each SLI name to a number, or null when the SLI failed. PREVIOUS lists earlier\n" +
			"evaluations, newest first, each {\"sli\": {...}, \"score\": N, \"result\": \"pass|warning|fail\"};\n" +
			"the JSON this command prints is such an evaluation.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(*cobra.Command, []string) error {
			if err := o.validate(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return o.run()
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &ExitError{Code: 2, Err: err} })
	cmd.Flags().StringVar(&o.sloPath, "slo", "", "the slo.yaml file")
	cmd.Flags().StringVar(&o.values, "values", "", "JSON file mapping SLI names to values (null: failed)")
	cmd.Flags().StringVar(&o.previous, "previous", "", "JSON file with earlier evaluations, newest first")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func (o *evalOptions) validate() error {
	switch {
	case o.sloPath == "":
		return errors.New("--slo is required")
	case o.values == "":
		return errors.New("--values is required")
	case o.output != "text" && o.output != "json":
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	return nil
}

// run evaluates and prints; any error becomes exit code 2, a verdict its own code.
func (o *evalOptions) run() error {
	res, err := o.evaluate()
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if o.output == "json" {
		err = printJSON(o.s, res)
	} else {
		err = printText(o.s, res)
	}
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	switch res.Result {
	case slo.StatusPass:
		return nil
	case slo.StatusWarning:
		return &ExitError{Code: 1, Err: ErrVerdict}
	default:
		return &ExitError{Code: 2, Err: ErrVerdict}
	}
}

func (o *evalOptions) evaluate() (slo.Result, error) {
	data, err := os.ReadFile(o.sloPath)
	if err != nil {
		return slo.Result{}, err
	}
	file, err := slo.Parse(data)
	if err != nil {
		return slo.Result{}, fmt.Errorf("%s: %w", o.sloPath, err)
	}
	var values map[string]*float64
	if err := readJSON(o.values, &values); err != nil {
		return slo.Result{}, err
	}
	var previous []slo.Result
	if o.previous != "" {
		if err := readJSON(o.previous, &previous); err != nil {
			return slo.Result{}, err
		}
	}
	return slo.Evaluate(file, values, previous), nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func printJSON(s iostreams.Streams, res slo.Result) error {
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // criteria are "<600", not "\u003c600"
	return enc.Encode(res)
}

// printText shows the verdict and one line per objective.
func printText(s iostreams.Streams, res slo.Result) error {
	fmt.Fprintf(s.Out, "result: %s  score: %.2f%%\n", res.Result, res.Score)
	if res.Error != "" {
		fmt.Fprintf(s.Out, "error: %s\n", res.Error)
	}
	return slo.WriteObjectives(s.Out, res.Objectives)
}
