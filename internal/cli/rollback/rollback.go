// Package rollback implements `ferry rollback APP STAGE [--to VERSION] --reason R`: it
// returns a stage to a Release verified there before.
package rollback

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"

	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/rollback"
)

type options struct {
	s          iostreams.Streams
	kubeconfig string
	req        rollback.Request
}

// NewCommand returns the rollback verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "rollback APP STAGE [--to VERSION] --reason R",
		Short: "Return a stage to a release verified there before (default: the one before the current)",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			o.req.Application, o.req.Stage = args[0], args[1]
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.req.Namespace, "namespace", "n", "", "namespace of the Application (default: the kubeconfig's)")
	f.StringVar(&o.req.Version, "to", "", "version to return to")
	f.StringVar(&o.req.Reason, "reason", "", "why (kept in the Promotion)")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

func (o *options) run(ctx context.Context) error {
	rc, ns, err := kubeclient.Config(o.kubeconfig, o.req.Namespace)
	if err != nil {
		return err
	}
	o.req.Namespace = ns
	who, err := approval.WhoAmI(ctx, rc)
	if err != nil {
		return err
	}
	o.req.User = who.User
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		return err
	}
	p, err := rollback.Start(ctx, c, o.req)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.s.Out, "rolling %s back to %s: promotion %s (follow it with `ferry status %s`)\n",
		o.req.Stage, p.Annotations[ferryv1.AnnotationVersion], p.Name, o.req.Application)
	return err
}
