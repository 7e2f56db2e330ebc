// Package dora implements `ferry dora APP [--stage S] [--since D]`: the four DORA
// figures of an application in a stage (its last one by default) over a period, from
// its Promotions and Releases in the API.
package dora

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/dora"
	"ferry.dev/ferry/internal/kubeclient"
)

type options struct {
	s          iostreams.Streams
	stage      string
	since      time.Duration
	output     string
	kubeconfig string
	namespace  string
}

// NewCommand returns the dora verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "dora APP [--stage S] [--since 720h] [-o text|json]",
		Short: "Print an application's DORA figures: deployment frequency, lead time, change failure rate, time to restore",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if o.output != "text" && o.output != "json" {
				return fmt.Errorf("--output %q: expected text or json", o.output)
			}
			if o.since <= 0 {
				return fmt.Errorf("--since %s: expected a positive duration", o.since)
			}
			rc, ns, err := kubeclient.Config(o.kubeconfig, o.namespace)
			if err != nil {
				return err
			}
			cl, err := kubeclient.Ferry(rc)
			if err != nil {
				return err
			}
			now := time.Now()
			f, err := Figures(c.Context(), cl, ns, args[0], o.stage, now.Add(-o.since), now)
			if err != nil {
				return err
			}
			return Print(f, o.output, o.s.Out)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.stage, "stage", "", "the stage (default: the application's last, usually prod)")
	fl.DurationVar(&o.since, "since", 30*24*time.Hour, "the period, ending now")
	fl.StringVarP(&o.output, "output", "o", "text", "text or json")
	fl.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	fl.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the Application (default: the kubeconfig's)")
	return cmd
}

// Figures reads the application's Promotions and Releases and computes the figures of
// the stage over [from, to).
func Figures(ctx context.Context, c client.Client, ns, app, stage string, from, to time.Time) (dora.Figures, error) {
	return dora.Read(ctx, c, ns, app, stage, from, to, 0)
}

// Print writes the figures as text or JSON.
func Print(f dora.Figures, format string, w io.Writer) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	}
	fmt.Fprintf(w, "%s in %s, %s to %s:\n", f.Application, f.Stage, f.From.UTC().Format(time.DateTime), f.To.UTC().Format(time.DateTime))
	fmt.Fprintf(w, "  deployment frequency   %.2f a day (%d verified of %d deployments)\n", f.PerDay, f.Succeeded, f.Deployments)
	fmt.Fprintf(w, "  lead time for changes  %s\n", medianOf(f.LeadTime, f.LeadTimes, "change"))
	fmt.Fprintf(w, "  change failure rate    %.1f%% (%d of %d)\n", 100*f.ChangeFailureRate, f.Failed, f.Deployments)
	_, err := fmt.Fprintf(w, "  time to restore        %s\n", medianOf(f.TimeToRestore, f.Restores, "restored failure"))
	return err
}

func medianOf(d *dora.Duration, n int, what string) string {
	if d == nil {
		return "- (no " + what + "s)"
	}
	s := "s"
	if n == 1 {
		s = ""
	}
	return fmt.Sprintf("median %s (%d %s%s)", d.Duration, n, what, s)
}
