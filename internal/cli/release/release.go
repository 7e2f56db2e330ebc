// Package release implements `ferry release`, what a CI job calls after pushing an image:
// it creates the immutable Release of that image for an Application.
package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/release"
)

type options struct {
	s          iostreams.Streams
	kubeconfig string
	namespace  string
	rel        release.Options
	commitTime string
}

// NewCommand returns the release verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "release --app APP --image REF [--version V] [--commit SHA --branch B | --pr N]",
		Short: "Create a Release of an image for an Application (the digest is resolved from the registry)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the Application (default: the kubeconfig's)")
	f.StringVar(&o.rel.Application, "app", "", "the Application (required)")
	f.StringVar(&o.rel.Image, "image", "", "the app image, REPOSITORY:TAG or REPOSITORY@DIGEST (required)")
	f.StringVar(&o.rel.TestsImage, "tests-image", "", "the tests image of the same version")
	f.StringVar(&o.rel.Version, "version", "", "semantic version (default: the image tag if it is one, else the next patch)")
	f.StringVar(&o.rel.Commit, "commit", "", "commit SHA the image was built from")
	f.StringVar(&o.rel.Branch, "branch", "", "branch of the commit (main or master: the release flow; another: the branch flow)")
	f.Int32Var(&o.rel.PullRequest, "pr", 0, "pull request number (the pr flow)")
	f.StringVar(&o.rel.RepoURL, "repo-url", "", "the repository, for links")
	f.StringVar(&o.commitTime, "commit-time", "", "when the commit was made, RFC 3339 (git log -1 --format=%cI); DORA's lead time counts from it")
	return cmd
}

func (o *options) validate() error {
	if o.rel.Application == "" || o.rel.Image == "" {
		return errors.New("--app and --image are required")
	}
	if o.rel.PullRequest > 0 && o.rel.Commit == "" {
		return errors.New("--pr needs --commit")
	}
	if o.rel.PullRequest < 0 {
		return errors.New("--pr must be a positive number")
	}
	if o.commitTime != "" {
		if o.rel.Commit == "" {
			return errors.New("--commit-time needs --commit")
		}
		t, err := time.Parse(time.RFC3339, o.commitTime)
		if err != nil {
			return fmt.Errorf("--commit-time %q: expected RFC 3339, such as 2026-11-30T09:15:00+01:00", o.commitTime)
		}
		o.rel.CommittedAt = t
	}
	return nil
}

func (o *options) run(ctx context.Context) error {
	rc, ns, err := kubeclient.Config(o.kubeconfig, o.namespace)
	if err != nil {
		return err
	}
	o.rel.Namespace = ns
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		return err
	}
	// Who asks is told in notifications; an API server that cannot say leaves it out.
	if who, err := approval.WhoAmI(ctx, rc); err == nil {
		o.rel.CreatedBy = who.User
	}
	rel, err := release.Create(ctx, c, release.Registry{}, o.rel)
	if err != nil {
		return err
	}
	img := rel.AppImages()[0]
	_, err = fmt.Fprintf(o.s.Out, "release %s/%s: %s %s (%s@%s), flow %s\n", ns, rel.Name, rel.Spec.Application, rel.Spec.Version, img.Repository, img.Digest, rel.Spec.Flow)
	return err
}
