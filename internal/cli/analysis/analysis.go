// Package analysis implements `ferry analysis run` and `ferry analysis show`. Run runs an
// AnalysisTemplate (a manifest file or an object in the cluster) for an app and stage
// against a live Prometheus, prints the report and exits 0 on pass, 1 on warning or
// inconclusive and 2 on fail, so a pipeline can gate on it. Show prints the verdicts a
// Promotion's analyses reached, with their values and criteria.
package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/analysis"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/cli/verdict"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/slo"
)

// PrometheusEnv names the environment variable read when --prometheus is not given.
const PrometheusEnv = "FERRY_PROMETHEUS"

// ErrVerdict is wrapped by the ExitError of a verdict other than pass, printed already.
var ErrVerdict = verdict.ErrPrinted

// ExitError carries the exit code: 1 for warning and inconclusive, 2 for fail and for
// any error.
type ExitError = verdict.ExitError

type runOptions struct {
	s                iostreams.Streams
	template         string
	app              string
	stage            string
	version          string
	canarySelector   string
	baselineSelector string
	prometheus       string
	namespace        string
	kubeconfig       string
	previous         string
	output           string
}

// NewCommand returns the analysis verb with its run subcommand.
func NewCommand(s iostreams.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analysis",
		Short: "Run AnalysisTemplates: SLI queries in Prometheus judged against an SLO",
	}
	cmd.AddCommand(newRun(s), newShow(s))
	return cmd
}

func newRun(s iostreams.Streams) *cobra.Command {
	o := &runOptions{s: s}
	cmd := &cobra.Command{
		Use:   "run --template FILE_OR_NAME --app APP --stage STAGE",
		Short: "Run an analysis now against a live Prometheus (exit 0 pass, 1 warning or inconclusive, 2 fail)",
		Long: "The template is an AnalysisTemplate manifest file, or the name of one in the cluster (in\n" +
			"--namespace). Its queries are filled in with $app, $namespace, $stage, $version, $interval,\n" +
			"$canarySelector and $baselineSelector and sent to --prometheus (default: $" + PrometheusEnv + ").\n" +
			"When no query returns a value (Prometheus down, no data) the result is inconclusive.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.prometheus == "" {
				o.prometheus = os.Getenv(PrometheusEnv)
			}
			if err := o.validate(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return o.run(c.Context())
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &ExitError{Code: 2, Err: err} })
	f := cmd.Flags()
	f.StringVar(&o.template, "template", "", "AnalysisTemplate manifest file, or the name of one in the cluster")
	f.StringVar(&o.app, "app", "", "application ($app)")
	f.StringVar(&o.stage, "stage", "", "stage ($stage)")
	f.StringVar(&o.version, "version", "", "version under analysis ($version)")
	f.StringVar(&o.canarySelector, "canary-selector", "", "label matchers of the canary's pods ($canarySelector)")
	f.StringVar(&o.baselineSelector, "baseline-selector", "", "label matchers of the baseline's pods ($baselineSelector)")
	f.StringVar(&o.prometheus, "prometheus", "", "Prometheus URL (default: $"+PrometheusEnv+")")
	f.StringVarP(&o.namespace, "namespace", "n", "", "the app's namespace ($namespace) and the template's (default: the manifest's, else the kubeconfig's)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig, for a template given by name (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.previous, "previous", "", "JSON file with earlier SLO results, newest first, for relative criteria")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func (o *runOptions) validate() error {
	switch {
	case o.template == "":
		return errors.New("--template is required")
	case o.app == "":
		return errors.New("--app is required")
	case o.stage == "":
		return errors.New("--stage is required")
	case o.prometheus == "":
		return fmt.Errorf("no Prometheus: pass --prometheus URL or set %s", PrometheusEnv)
	case !strings.HasPrefix(o.prometheus, "http://") && !strings.HasPrefix(o.prometheus, "https://"):
		return fmt.Errorf("--prometheus %q: want an http:// or https:// URL", o.prometheus)
	case o.output != "text" && o.output != "json":
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	return nil
}

// run analyses and prints; any error becomes exit code 2, a verdict its own code.
func (o *runOptions) run(ctx context.Context) error {
	tpl, ns, err := o.loadTemplate(ctx)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	var previous []slo.Result
	if o.previous != "" {
		if previous, err = readPrevious(o.previous); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
	}
	vars := analysis.Vars{App: o.app, Namespace: ns, Stage: o.stage, Version: o.version,
		CanarySelector: o.canarySelector, BaselineSelector: o.baselineSelector}
	report, err := analysis.Run(ctx, tpl, vars, o.prometheus, previous)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("template %s: %w", o.template, err)}
	}
	if o.output == "json" {
		err = printJSON(o.s, report)
	} else {
		err = printText(o.s, report)
	}
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	return verdictError(report.Result)
}

// verdictError maps a verdict to the exit code a pipeline gates on.
func verdictError(r analysis.Result) error {
	switch r {
	case analysis.Pass:
		return nil
	case analysis.Warning, analysis.Inconclusive:
		return &ExitError{Code: 1, Err: ErrVerdict}
	default:
		return &ExitError{Code: 2, Err: ErrVerdict}
	}
}

// loadTemplate reads the template from its file, or gets it from the cluster, and returns
// it with the namespace the app runs in.
func (o *runOptions) loadTemplate(ctx context.Context) (*ferryv1.AnalysisTemplate, string, error) {
	if isFile(o.template) {
		tpl, err := readTemplate(o.template)
		if err != nil {
			return nil, "", err
		}
		ns := o.namespace
		if ns == "" {
			ns = tpl.Namespace
		}
		if ns == "" {
			ns = "default"
		}
		return tpl, ns, nil
	}
	rc, ns, err := kubeclient.Config(o.kubeconfig, o.namespace)
	if err != nil {
		return nil, "", err
	}
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		return nil, "", err
	}
	tpl := &ferryv1.AnalysisTemplate{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.template}, tpl); err != nil {
		return nil, "", fmt.Errorf("analysistemplate %s/%s: %w", ns, o.template, err)
	}
	return tpl, ns, nil
}

// isFile tells a manifest path from an object name: an existing file, or anything an
// object name cannot be (a path separator, a YAML or JSON extension).
func isFile(s string) bool {
	if fi, err := os.Stat(s); err == nil && fi.Mode().IsRegular() {
		return true
	}
	switch filepath.Ext(s) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return strings.ContainsAny(s, `/\`)
}

func readTemplate(path string) (*ferryv1.AnalysisTemplate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tpl := &ferryv1.AnalysisTemplate{}
	if err := yaml.UnmarshalStrict(data, tpl); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if tpl.Kind != "AnalysisTemplate" || tpl.APIVersion != ferryv1.GroupVersion.String() {
		return nil, fmt.Errorf("%s: kind %q, apiVersion %q: want an AnalysisTemplate of %s", path, tpl.Kind, tpl.APIVersion, ferryv1.GroupVersion)
	}
	return tpl, nil
}

func readPrevious(path string) ([]slo.Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var previous []slo.Result
	if err := json.Unmarshal(data, &previous); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return previous, nil
}

func printJSON(s iostreams.Streams, r analysis.Report) error {
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // queries and criteria keep their < and >
	return enc.Encode(r)
}

// printText shows the verdict, one line per objective, and why SLIs have no value.
func printText(s iostreams.Streams, r analysis.Report) error {
	if r.Result == analysis.Inconclusive {
		fmt.Fprintf(s.Out, "result: %s (%s)\n", r.Result, r.Reason)
	} else {
		fmt.Fprintf(s.Out, "result: %s  score: %.2f%%\n", r.Result, r.SLO.Score)
	}
	if r.SLO.Error != "" {
		fmt.Fprintf(s.Out, "slo error: %s\n", r.SLO.Error)
	}
	if err := slo.WriteObjectives(s.Out, r.SLO.Objectives); err != nil {
		return err
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(s.Out, "SLIs without a value:")
		for _, name := range sortedKeys(r.Errors) {
			fmt.Fprintf(s.Out, "  %s: %s\n", name, r.Errors[name])
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
