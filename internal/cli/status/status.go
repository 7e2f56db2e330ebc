// Package status implements `ferry status APP`: each stage of an application with the
// version it runs, the Promotion under way and its step, and the approvals it waits for.
package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/promotion"
)

type options struct {
	s          iostreams.Streams
	app        string
	kubeconfig string
	namespace  string
	watch      bool
	interval   time.Duration
}

// NewCommand returns the status verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "status APP",
		Short: "Show each stage of an application: its version, the running step, waiting approvals",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.app = args[0]
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the Application (default: the kubeconfig's)")
	f.BoolVarP(&o.watch, "watch", "w", false, "redraw until interrupted")
	f.DurationVar(&o.interval, "interval", time.Second, "how often --watch redraws")
	return cmd
}

func (o *options) run(ctx context.Context) error {
	rc, ns, err := kubeclient.Config(o.kubeconfig, o.namespace)
	if err != nil {
		return err
	}
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		return err
	}
	for {
		if o.watch {
			fmt.Fprint(o.s.Out, "\033[H\033[2J") // clear the terminal before each redraw
		}
		if err := Print(ctx, c, ns, o.app, o.s.Out); err != nil {
			return err
		}
		if !o.watch {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.interval):
		}
	}
}

// Print writes the application's stages as a table.
func Print(ctx context.Context, c client.Client, ns, name string, w io.Writer) error {
	app := &ferryv1.Application{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
		return fmt.Errorf("application %s/%s: %w", ns, name, err)
	}
	proms := &ferryv1.PromotionList{}
	if err := c.List(ctx, proms, client.InNamespace(ns), client.MatchingLabels{ferryv1.LabelApplication: name}); err != nil {
		return err
	}
	rels := &ferryv1.ReleaseList{}
	if err := c.List(ctx, rels, client.InNamespace(ns), client.MatchingLabels{ferryv1.LabelApplication: name}); err != nil {
		return err
	}
	versions := map[string]string{}
	for _, r := range rels.Items {
		versions[r.Name] = r.Spec.Version
	}
	byName := map[string]ferryv1.Promotion{}
	for _, p := range proms.Items {
		byName[p.Name] = p
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "STAGE\tVERSION\tPROMOTING\tSTEP\tAPPROVALS\tMESSAGE\n")
	for _, st := range app.Status.Stages {
		spec := stageSpec(app, st.Name)
		version := dash(versions[st.CurrentRelease])
		promoting, step, approvals, msg := "-", "-", "-", ""
		if p, ok := byName[st.ActivePromotion]; ok {
			promoting = dash(versions[p.Spec.Release]) + " (" + string(p.Status.Phase) + ")"
			step, msg = currentStep(&p)
			if len(spec.ApproverGroups) > 0 {
				v := promotion.Approvals(spec, p.Status.Approvals)
				approvals = fmt.Sprintf("%d/%d %v", len(v.Groups), v.Needed, v.Groups)
			}
		} else if last := lastFinished(proms.Items, st.Name); last != nil && last.Status.Phase == ferryv1.PromotionFailed {
			// The stage's newest news is a failure (perhaps rolled back): say so.
			msg = dash(versions[last.Spec.Release]) + " failed: " + last.Status.Message
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, version, promoting, step, approvals, msg)
	}
	if len(app.Status.Stages) == 0 {
		return errors.Join(tw.Flush(), fmt.Errorf("application %s has no stage status yet: is `ferry controller` running?", name))
	}
	return tw.Flush()
}

// lastFinished is the newest finished Promotion of a stage, by creation.
func lastFinished(proms []ferryv1.Promotion, stage string) *ferryv1.Promotion {
	var last *ferryv1.Promotion
	for i := range proms {
		p := &proms[i]
		done := p.Status.Phase == ferryv1.PromotionSucceeded || p.Status.Phase == ferryv1.PromotionFailed
		if p.Spec.Stage == stage && done && (last == nil || last.CreationTimestamp.Before(&p.CreationTimestamp)) {
			last = p
		}
	}
	return last
}

func stageSpec(app *ferryv1.Application, name string) ferryv1.StageSpec {
	for _, s := range app.Spec.Stages {
		if s.Name == name {
			return s
		}
	}
	return ferryv1.StageSpec{Name: name}
}

// currentStep is the last checkpoint started, with its message.
func currentStep(p *ferryv1.Promotion) (string, string) {
	if n := len(p.Status.Checkpoints); n > 0 {
		c := p.Status.Checkpoints[n-1]
		return c.Name, c.Message
	}
	return "-", p.Status.Message
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
