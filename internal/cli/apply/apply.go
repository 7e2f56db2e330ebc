// Package apply implements `ferry apply`: load an app file and create or update its
// Application in the cluster.
package apply

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/appobject"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeapply"
	"ferry.dev/ferry/internal/kubeclient"
)

type options struct {
	s          iostreams.Streams
	path       string
	kubeconfig string
	namespace  string
	gitBase    string
	repoURL    string
	revision   string
}

// NewCommand returns the apply verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s, gitBase: os.Getenv(appfile.GitBaseEnv)}
	cmd := &cobra.Command{
		Use:   "apply [FILE|DIR|-]",
		Short: "Create or update the Application of an app file (its profiles merged in)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.path = "."
			if len(args) == 1 {
				o.path = args[0]
			}
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the Application (default: the kubeconfig's)")
	f.StringVar(&o.gitBase, "profiles-git-base", o.gitBase, "base URL of git:// profiles (env "+appfile.GitBaseEnv+")")
	f.StringVar(&o.repoURL, "repo-url", "", "repository the app file lives in, for links")
	f.StringVar(&o.revision, "revision", "", "commit the app file was read at")
	return cmd
}

func (o *options) run(ctx context.Context) error {
	f, err := appfile.LoadFrom(o.path, o.s.In, appfile.Options{GitBase: o.gitBase})
	if err != nil {
		return err
	}
	rc, ns, err := kubeclient.Config(o.kubeconfig, o.namespace)
	if err != nil {
		return err
	}
	var src *ferryv1.AppSource
	if o.repoURL != "" || o.revision != "" {
		src = &ferryv1.AppSource{RepoURL: o.repoURL, Path: f.Path, Revision: o.revision}
	}
	app, err := appobject.Build(f, ns, src)
	if err != nil {
		return err
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(app)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: obj}
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	ap, err := kubeapply.New(rc, "ferry-apply")
	if err != nil {
		return err
	}
	if err := ap.Apply(ctx, u); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.s.Out, "application %s/%s applied (%d stages)\n", ns, app.Name, len(app.Spec.Stages))
	return err
}
