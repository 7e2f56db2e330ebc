// Package approve implements `ferry approve APP STAGE`, `ferry reject APP STAGE --reason
// R` and `ferry override-freeze APP STAGE --reason R`: a person's decision on the
// Promotion waiting in a stage, made with the kubeconfig's credentials or, for approve
// and reject with --server, through ferry server's API with a bearer token.
package approve

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeclient"
)

type options struct {
	s          iostreams.Streams
	kubeconfig string
	req        approval.Request
	// server, when set, is ferry server's URL: the decision goes through its API.
	server    string
	tokenFile string
}

// NewApproveCommand returns the approve verb.
func NewApproveCommand(s iostreams.Streams) *cobra.Command {
	return newCommand(s, ferryv1.DecisionApprove, "approve APP STAGE", "Approve the promotion waiting in a stage (as a member of an approver group)")
}

// NewRejectCommand returns the reject verb.
func NewRejectCommand(s iostreams.Streams) *cobra.Command {
	return newCommand(s, ferryv1.DecisionReject, "reject APP STAGE --reason R", "Reject the promotion waiting in a stage, with a reason")
}

func newCommand(s iostreams.Streams, d ferryv1.Decision, use, short string) *cobra.Command {
	o := &options{s: s, req: approval.Request{Decision: d}}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			o.req.Application, o.req.Stage = args[0], args[1]
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.req.Namespace, "namespace", "n", "", "namespace of the Application (default: the kubeconfig's)")
	f.StringVar(&o.req.Group, "group", "", "approver group to decide as (default: the first you may use)")
	f.StringVar(&o.req.Reason, "reason", "", "why (required to reject)")
	f.StringVar(&o.server, "server", "", "ferry server's URL: send the decision through its API (POST .../approve|reject) instead of to the Kubernetes API")
	f.StringVar(&o.tokenFile, "token-file", "", "with --server, a file holding the Kubernetes token to send as bearer (default: the kubeconfig's)")
	return cmd
}

func (o *options) validate() error {
	if o.req.Decision == ferryv1.DecisionReject && o.req.Reason == "" {
		return errors.New("--reason is required to reject")
	}
	if o.tokenFile != "" && o.server == "" {
		return errors.New("--token-file goes with --server")
	}
	return nil
}

func (o *options) run(ctx context.Context) error {
	if o.server != "" {
		return o.runRemote(ctx)
	}
	rc, ns, err := kubeclient.Config(o.kubeconfig, o.req.Namespace)
	if err != nil {
		return err
	}
	o.req.Namespace = ns
	who, err := approval.WhoAmI(ctx, rc)
	if err != nil {
		return err
	}
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		return err
	}
	d, err := approval.Decide(ctx, c, who, o.req)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.s.Out, "%s: %s as %s on %s\n", d.Spec.User, d.Spec.Decision, d.Spec.Group, d.Spec.Promotion)
	return err
}

// NewOverrideFreezeCommand returns the override-freeze verb.
func NewOverrideFreezeCommand(s iostreams.Streams) *cobra.Command {
	return overrideCommand(s, "override-freeze APP STAGE --reason R",
		"Let the promotion held by a freeze window in a stage go on, with a reason", "freeze overridden", approval.OverrideFreeze)
}

// NewResumeCommand returns the resume verb.
func NewResumeCommand(s iostreams.Streams) *cobra.Command {
	var full bool
	cmd := overrideCommand(s, "resume APP STAGE --reason R [--full]",
		"Let a canary step that waits for a person (a pause without a duration, an inconclusive analysis) go on, with a reason; --full skips every step left",
		"resumed", func(ctx context.Context, c client.Client, who approval.Identity, req approval.Request) (*ferryv1.Promotion, error) {
			req.Full = full
			return approval.Resume(ctx, c, who, req)
		})
	cmd.Flags().BoolVar(&full, "full", false, "skip every canary step left, pauses and analyses alike, and promote the canary at once")
	return cmd
}

// NewAbortCommand returns the abort verb.
func NewAbortCommand(s iostreams.Streams) *cobra.Command {
	return overrideCommand(s, "abort APP STAGE --reason R",
		"End the promotion under way in a stage, with a reason: a canary's or a blue-green preview's traffic goes back to the stable version, and once the deploy began the stage rolls back", "aborted", approval.Abort)
}

// overrideCommand is a verb that records a person's decision on the stage's running
// Promotion, in their own name.
func overrideCommand(s iostreams.Streams, use, short, done string,
	decide func(context.Context, client.Client, approval.Identity, approval.Request) (*ferryv1.Promotion, error)) *cobra.Command {
	var kubeconfig string
	req := approval.Request{}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			req.Application, req.Stage = args[0], args[1]
			rc, ns, err := kubeclient.Config(kubeconfig, req.Namespace)
			if err != nil {
				return err
			}
			req.Namespace = ns
			who, err := approval.WhoAmI(c.Context(), rc)
			if err != nil {
				return err
			}
			fc, err := kubeclient.Ferry(rc)
			if err != nil {
				return err
			}
			p, err := decide(c.Context(), fc, who, req)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "%s: %s on %s: %s\n", who.User, done, p.Name, req.Reason)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&req.Namespace, "namespace", "n", "", "namespace of the Application (default: the kubeconfig's)")
	f.StringVar(&req.Reason, "reason", "", "why (kept in the Promotion)")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}
