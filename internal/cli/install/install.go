// Package install implements `ferry install`: put Ferry's API (its custom resources)
// into the cluster the kubeconfig names, with the identity `ferry server` runs as.
package install

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeclient"
)

type options struct {
	s          iostreams.Streams
	kubeconfig string
	timeout    time.Duration
	namespace  string
}

// NewCommand returns the install verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install Ferry's custom resources (Application, Release, Promotion, Cluster) into the cluster, and the ferry-server ServiceAccount with its rights",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return o.run(c.Context()) },
	}
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", time.Minute, "how long to wait for the API server to serve them")
	cmd.Flags().StringVar(&o.namespace, "namespace", install.DefaultNamespace, "namespace of the ferry-server ServiceAccount (made if missing)")
	return cmd
}

func (o *options) run(ctx context.Context) error {
	rc, _, err := kubeclient.Config(o.kubeconfig, "")
	if err != nil {
		return err
	}
	names, err := install.CRDs(ctx, rc, o.timeout)
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintf(o.s.Out, "customresourcedefinition %s established\n", n)
	}
	applied, err := install.Server(ctx, rc, o.namespace)
	for _, a := range applied {
		fmt.Fprintf(o.s.Out, "%s applied\n", a)
	}
	return err
}
