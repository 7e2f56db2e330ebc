// Package history implements `ferry history APP [--stage S]`: the Promotions of an
// application, newest first, with version, stage, outcome, duration and approvers.
package history

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeclient"
)

type options struct {
	s          iostreams.Streams
	app        string
	stage      string
	kubeconfig string
	namespace  string
}

// NewCommand returns the history verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "history APP [--stage S]",
		Short: "List an application's promotions, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.app = args[0]
			rc, ns, err := kubeclient.Config(o.kubeconfig, o.namespace)
			if err != nil {
				return err
			}
			cl, err := kubeclient.Ferry(rc)
			if err != nil {
				return err
			}
			return Print(c.Context(), cl, ns, o.app, o.stage, o.s.Out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.stage, "stage", "", "only this stage")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the Application (default: the kubeconfig's)")
	return cmd
}

// Print writes the application's Promotions as a table, newest first.
func Print(ctx context.Context, c client.Client, ns, app, stage string, w io.Writer) error {
	labels := client.MatchingLabels{ferryv1.LabelApplication: app}
	if stage != "" {
		labels[ferryv1.LabelStage] = stage
	}
	list := &ferryv1.PromotionList{}
	if err := c.List(ctx, list, client.InNamespace(ns), labels); err != nil {
		return err
	}
	items := list.Items
	sort.SliceStable(items, func(i, j int) bool {
		return items[j].CreationTimestamp.Before(&items[i].CreationTimestamp)
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tSTAGE\tVERSION\tPHASE\tTOOK\tAPPROVED BY\tPROMOTION")
	for _, p := range items {
		var by []string
		for _, a := range p.Status.Approvals {
			by = append(by, a.User+" ("+a.Group+")")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.CreationTimestamp.UTC().Format(time.DateTime), p.Spec.Stage,
			p.Annotations[ferryv1.AnnotationVersion], p.Status.Phase, took(&p), dash(strings.Join(by, ", ")), p.Name)
	}
	return tw.Flush()
}

// took is how long the Promotion ran, from its first checkpoint to its last end.
func took(p *ferryv1.Promotion) string {
	cps := p.Status.Checkpoints
	if len(cps) == 0 || cps[0].StartedAt == nil || cps[len(cps)-1].FinishedAt == nil {
		return "-"
	}
	return cps[len(cps)-1].FinishedAt.Sub(cps[0].StartedAt.Time).String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
