// Package preview implements `ferry preview delete APP (--pr N | --branch B)`: it removes
// the preview of a pull request or a branch, its namespace in every target cluster and
// its Releases, when the pull request closes or the branch is gone.
package preview

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/preview"
)

// NewCommand returns the preview verb and its subcommands.
func NewCommand(s iostreams.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "preview",
		Short: "Manage the previews of pull requests and branches (each in its own namespace)",
	}
	cmd.AddCommand(newDelete(s))
	return cmd
}

type deleteOptions struct {
	s           iostreams.Streams
	kubeconfig  string
	namespace   string
	application string
	pr          int32
	branch      string
}

func newDelete(s iostreams.Streams) *cobra.Command {
	o := &deleteOptions{s: s}
	cmd := &cobra.Command{
		Use:   "delete APP (--pr N | --branch B)",
		Short: "Delete the preview of a pull request or a branch: its namespace in every target cluster, and its releases",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.application = args[0]
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the Application (default: the kubeconfig's)")
	f.Int32Var(&o.pr, "pr", 0, "pull request number")
	f.StringVar(&o.branch, "branch", "", "branch name, as git writes it")
	return cmd
}

func (o *deleteOptions) selector() preview.Selector {
	return preview.Selector{PullRequest: o.pr, Branch: o.branch}
}

func (o *deleteOptions) validate() error {
	if o.application == "" {
		return errors.New("name the application")
	}
	if err := o.selector().Validate(); err != nil {
		return fmt.Errorf("%w (--pr N or --branch B)", err)
	}
	return nil
}

func (o *deleteOptions) run(ctx context.Context) error {
	rc, ns, err := kubeclient.Config(o.kubeconfig, o.namespace)
	if err != nil {
		return err
	}
	c, err := newClient(rc)
	if err != nil {
		return err
	}
	sel := o.selector()
	// The Clusters without a kubeconfig Secret are the cluster the controller runs in,
	// the one the kubeconfig points at.
	deleted, err := preview.Delete(ctx, c, rc, ns, o.application, sel)
	for _, d := range deleted {
		fmt.Fprintf(o.s.Out, "deleted %s\n", d)
	}
	if err != nil {
		return err
	}
	if len(deleted) == 0 {
		fmt.Fprintf(o.s.Out, "no preview of %s for %s in namespace %s\n", o.application, sel, ns)
	}
	return nil
}

// newClient returns a client for Ferry's kinds and the core ones: a Cluster's
// kubeconfig is in a Secret.
func newClient(rc *rest.Config) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := ferryv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(rc, client.Options{Scheme: scheme})
}
