// Package render implements `ferry render`: the Kubernetes objects of one stage of an
// app file as a stream `kubectl apply -f -` accepts, its alert rules as a Prometheus rule
// file, or with --explain where every effective value came from.
package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/render"
	"ferry.dev/ferry/internal/traffic"
)

type options struct {
	s             iostreams.Streams
	path          string
	stage         string
	cluster       string
	hosts         []string
	prometheusURL string
	gateway       string
	version       string
	image         string
	output        string
	explain       bool
	gitBase       string
}

// NewCommand returns the render verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s, gitBase: os.Getenv(appfile.GitBaseEnv)}
	cmd := &cobra.Command{
		Use:   "render [FILE|DIR|-] --stage STAGE",
		Short: "Print the Kubernetes objects of one stage (or, with --explain, where each value came from)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.path = "."
			if len(args) == 1 {
				o.path = args[0]
			}
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.stage, "stage", "", "stage to render (required unless --explain)")
	f.StringVar(&o.cluster, "cluster", "", "target cluster id (default: the stage's first)")
	f.StringSliceVar(&o.hosts, "cluster-host", nil, "the cluster's ingress domain (repeatable; the first names the Ingress host)")
	f.StringVar(&o.prometheusURL, "prometheus-url", "http://prometheus.monitoring:9090", "Prometheus that KEDA's prometheus triggers query")
	f.StringVar(&o.gateway, "gateway", "", "the cluster's Gateway as NAMESPACE/NAME[/LISTENER]: adds the application's HTTPRoute")
	f.StringVar(&o.version, "version", "0.0.0-dev", "version to render")
	f.StringVar(&o.image, "image", "", "image to run (default: values.image, or ARTIFACT:VERSION)")
	f.StringVarP(&o.output, "output", "o", "yaml", "yaml, json, or rules (a Prometheus rule file)")
	f.BoolVar(&o.explain, "explain", false, "print every effective value and the file:line or profile it came from")
	f.StringVar(&o.gitBase, "profiles-git-base", o.gitBase, "base URL of git:// profiles (env "+appfile.GitBaseEnv+")")
	return cmd
}

func (o *options) validate() error {
	if !o.explain && o.stage == "" {
		return errors.New("--stage is required")
	}
	if _, err := o.gatewayRef(); err != nil {
		return err
	}
	switch o.output {
	case "yaml", "json", "rules":
		return nil
	}
	return fmt.Errorf("--output %q: expected yaml, json or rules", o.output)
}

// gatewayRef is the --gateway flag's Gateway, nil without it.
func (o *options) gatewayRef() (*traffic.Gateway, error) {
	if o.gateway == "" {
		return nil, nil
	}
	parts := strings.Split(o.gateway, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("--gateway %q: expected NAMESPACE/NAME or NAMESPACE/NAME/LISTENER", o.gateway)
	}
	gw := &traffic.Gateway{Namespace: parts[0], Name: parts[1]}
	if len(parts) == 3 {
		gw.SectionName = parts[2]
	}
	return gw, nil
}

func (o *options) run(ctx context.Context) error {
	f, err := appfile.LoadFrom(o.path, o.s.In, appfile.Options{GitBase: o.gitBase})
	if err != nil {
		return err
	}
	if o.explain {
		return o.printExplain(f)
	}
	app, err := f.Resolve(appfile.TemplateContext{Version: o.version, Hosts: o.hosts, TestsImage: testsImage(f.App, o.version)})
	if err != nil {
		return err
	}
	stage, _, err := app.Stage(o.stage)
	if err != nil {
		return err
	}
	cluster := o.cluster
	if cluster == "" && len(stage.Target) > 0 && len(stage.Target[0].ClusterID) > 0 {
		cluster = stage.Target[0].ClusterID[0]
	}
	gw, _ := o.gatewayRef() // checked in validate
	in := render.Input{App: app, Stage: o.stage, Version: o.version, Image: o.image, Dir: fileDir(f.Path),
		Cluster: render.Cluster{Name: cluster, Hosts: o.hosts, PrometheusURL: o.prometheusURL, Gateway: gw}}
	var out []byte
	if o.output == "rules" {
		out, err = render.RuleFile(in)
	} else {
		objs, rerr := render.Objects(ctx, in)
		if rerr != nil {
			return rerr
		}
		if o.output == "json" {
			out, err = render.JSON(objs)
		} else {
			out, err = render.YAML(objs)
		}
	}
	if err != nil {
		return err
	}
	_, err = o.s.Out.Write(out)
	return err
}

// fileDir is the directory of the app file, where its local chart path starts.
func fileDir(path string) string {
	if path == "<stdin>" {
		return "."
	}
	return filepath.Dir(path)
}

// testsImage names the tests image as the build publishes it: ARTIFACT-tests:VERSION.
func testsImage(app *appfile.App, version string) string {
	if app.Build.Docker == nil || app.Build.Docker.Tests == nil {
		return ""
	}
	return app.Build.Artifact + "-tests:" + version
}

func (o *options) printExplain(f *appfile.File) error {
	tw := tabwriter.NewWriter(o.s.Out, 0, 4, 2, ' ', 0)
	for _, l := range f.Tree.Leaves() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Path, l.Value, l.Source)
	}
	return tw.Flush()
}
