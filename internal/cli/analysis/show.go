package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeclient"
)

type showOptions struct {
	s          iostreams.Streams
	promotion  string
	namespace  string
	kubeconfig string
	output     string
}

// newShow is `ferry analysis show PROMOTION`: the verdicts a Promotion's analyses
// reached, each with its values, criteria and why.
func newShow(s iostreams.Streams) *cobra.Command {
	o := &showOptions{s: s}
	cmd := &cobra.Command{
		Use:   "show PROMOTION",
		Short: "Show the analysis verdicts of a Promotion: per measurement the values, criteria and why",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.promotion = args[0]
			if o.output != "text" && o.output != "json" {
				return fmt.Errorf("--output %q: want text or json", o.output)
			}
			rc, ns, err := kubeclient.Config(o.kubeconfig, o.namespace)
			if err != nil {
				return err
			}
			cl, err := kubeclient.Ferry(rc)
			if err != nil {
				return err
			}
			return Show(c.Context(), cl, ns, o.promotion, o.output, o.s.Out)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "", "the Promotion's namespace (default: the kubeconfig's)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// Show prints the Promotion's analysis verdicts, oldest first, and its canary or
// blue-green progress.
func Show(ctx context.Context, c client.Client, ns, name, output string, w io.Writer) error {
	p := &ferryv1.Promotion{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
		return fmt.Errorf("promotion %s/%s: %w", ns, name, err)
	}
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Canary    *ferryv1.CanaryStatus     `json:"canary,omitempty"`
			BlueGreen *ferryv1.BlueGreenStatus  `json:"blueGreen,omitempty"`
			Analyses  []ferryv1.AnalysisVerdict `json:"analyses"`
		}{p.Status.Canary, p.Status.BlueGreen, p.Status.Analyses})
	}
	if cs := p.Status.Canary; cs != nil {
		fmt.Fprintf(w, "canary: %s, step %d, weight %d%% (%d canary, %d stable pods), beside %s: %s\n",
			cs.Phase, cs.Step+1, cs.Weight, cs.CanaryReplicas, cs.StableReplicasNow, cs.StableVersion, cs.Message)
	}
	if bg := p.Status.BlueGreen; bg != nil {
		fmt.Fprintf(w, "blue-green: %s, active %s, previous %s: %s\n", bg.Phase, bg.ActiveVersion, bg.PreviousVersion, bg.Message)
	}
	if len(p.Status.Analyses) == 0 {
		fmt.Fprintln(w, "no analysis has measured yet")
		return nil
	}
	for _, v := range p.Status.Analyses {
		fmt.Fprintf(w, "\n%s #%d  %s in %s at %s: %s (score %s)\n  %s\n", v.Step, v.Measurement, v.Template, v.Cluster,
			v.At.UTC().Format("15:04:05Z"), v.Result, dashed(v.Score), v.Reason)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  SLI\tVALUE\tSTATUS\tSCORE\tCRITERIA\n")
		for _, o := range v.Objectives {
			crit := strings.Join(o.Criteria, "; ")
			if o.Error != "" {
				crit = strings.TrimPrefix(crit+"; no value: "+o.Error, "; ")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", o.SLI, dashed(o.Value), o.Status, dashed(o.Score), dashed(crit))
		}
		if len(v.Judge) > 0 {
			fmt.Fprintf(tw, "  JUDGE\tRESULT\tCANARY (N, MEDIAN)\tBASELINE (N, MEDIAN)\tP\tEFFECT\tWHY\n")
			for _, j := range v.Judge {
				fmt.Fprintf(tw, "  %s\t%s\t%d, %s\t%d, %s\t%s\t%s\t%s\n", j.Name, j.Result, j.CanaryCount, dashed(j.CanaryMedian),
					j.BaselineCount, dashed(j.BaselineMedian), dashed(j.PValue), dashed(j.Effect), j.Reason)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
