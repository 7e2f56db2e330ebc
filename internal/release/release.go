// Package release makes Releases: it resolves the image's digest in its registry, picks
// or checks the version (increasing per application), chooses the flow from the git
// facts, and creates the immutable Release with the Application's app file.
package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/imagebuild"
)

// Resolver finds the digest an image reference points at.
type Resolver interface {
	Digest(ctx context.Context, ref string) (string, error)
}

// Registry resolves digests with a HEAD request on the manifest; registries on loopback
// are spoken to over plain HTTP.
type Registry struct{}

// Digest implements Resolver.
func (Registry) Digest(ctx context.Context, ref string) (string, error) {
	var opts []name.Option
	if imagebuild.IsLoopback(ref) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	desc, err := remote.Head(r, remote.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("resolving %s in registry %s: %w", ref, r.Context().RegistryStr(), err)
	}
	return desc.Digest.String(), nil
}

// Options describe the Release to make.
type Options struct {
	Namespace   string
	Application string
	Image       string // repository:tag or repository@digest
	TestsImage  string // optional
	Version     string // empty: the image's tag if it is a version, else the next patch
	Commit      string
	Branch      string
	PullRequest int32
	RepoURL     string
	// CommittedAt is when the commit was made (zero: unknown).
	CommittedAt time.Time
	// CreatedBy is who asks for the Release, as the API server named them.
	CreatedBy string
}

// flow picks the flow from the git facts: a pull request, a branch other than the main
// line, or a release.
func (o Options) flow() ferryv1.Flow {
	switch {
	case o.PullRequest > 0:
		return ferryv1.FlowPR
	case o.Branch != "" && o.Branch != "main" && o.Branch != "master":
		return ferryv1.FlowBranch
	}
	return ferryv1.FlowRelease
}

// Create makes the Release and returns it.
func Create(ctx context.Context, c client.Client, res Resolver, o Options) (*ferryv1.Release, error) {
	app := &ferryv1.Application{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Application}, app); err != nil {
		return nil, fmt.Errorf("application %s/%s: %w", o.Namespace, o.Application, err)
	}
	existing := &ferryv1.ReleaseList{}
	if err := c.List(ctx, existing, client.InNamespace(o.Namespace), client.MatchingLabels{ferryv1.LabelApplication: o.Application}); err != nil {
		return nil, err
	}
	images := []ferryv1.ReleaseImage{}
	for _, img := range []struct{ role, ref string }{{"app", o.Image}, {"tests", o.TestsImage}} {
		if img.ref == "" {
			continue
		}
		ri, err := resolveImage(ctx, res, img.role, img.ref)
		if err != nil {
			return nil, err
		}
		images = append(images, ri)
	}
	if len(images) == 0 || images[0].Name != "app" {
		return nil, errors.New("an app image is required")
	}
	version, err := NextVersion(versions(existing), o.Version, images[0].Tag)
	if err != nil {
		return nil, fmt.Errorf("application %s: %w", o.Application, err)
	}
	rel := &ferryv1.Release{
		ObjectMeta: metav1.ObjectMeta{
			Name: Name(o.Application, version), Namespace: o.Namespace,
			Labels: map[string]string{ferryv1.LabelApplication: o.Application},
		},
		Spec: ferryv1.ReleaseSpec{Application: o.Application, Version: version, Flow: o.flow(), Images: images, AppFile: app.Spec.AppFile},
	}
	if o.CreatedBy != "" {
		rel.Annotations = map[string]string{ferryv1.AnnotationCreatedBy: o.CreatedBy}
	}
	if o.Commit != "" {
		rel.Spec.Git = &ferryv1.GitInfo{Commit: o.Commit, Branch: o.Branch, RepoURL: o.RepoURL}
		if !o.CommittedAt.IsZero() {
			rel.Spec.Git.CommittedAt = &metav1.Time{Time: o.CommittedAt}
		}
		if o.PullRequest > 0 {
			pr := o.PullRequest
			rel.Spec.Git.PullRequest = &pr
		}
	}
	if err := c.Create(ctx, rel); err != nil {
		return nil, fmt.Errorf("creating release %s: %w", rel.Name, err)
	}
	return rel, nil
}

// Name is a Release's object name: APP-VERSION with dots and pluses as dashes.
func Name(app, version string) string {
	return app + "-" + strings.NewReplacer(".", "-", "+", "-").Replace(strings.TrimPrefix(version, "v"))
}

func resolveImage(ctx context.Context, res Resolver, role, ref string) (ferryv1.ReleaseImage, error) {
	repo, tag, digest := splitRef(ref)
	if digest == "" {
		d, err := res.Digest(ctx, ref)
		if err != nil {
			return ferryv1.ReleaseImage{}, err
		}
		digest = d
	}
	return ferryv1.ReleaseImage{Name: role, Repository: repo, Tag: tag, Digest: digest}, nil
}

// splitRef splits REPO[:TAG][@DIGEST]; a port in the registry host is not a tag.
func splitRef(ref string) (repo, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:], digest
	}
	return ref, "", digest
}

func versions(list *ferryv1.ReleaseList) []string {
	out := make([]string, 0, len(list.Items))
	for _, r := range list.Items {
		out = append(out, r.Spec.Version)
	}
	return out
}

// NextVersion decides the new Release's version: the one asked for, else the image tag
// when it is a version, else the patch after the highest. It must be above every
// existing version: versions increase per application.
func NextVersion(existing []string, asked, tag string) (string, error) {
	var highest *semver.Version
	for _, v := range existing {
		sv, err := semver.NewVersion(v)
		if err != nil {
			continue
		}
		if highest == nil || sv.GreaterThan(highest) {
			highest = sv
		}
	}
	pick := asked
	if pick == "" {
		if _, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v")); err == nil {
			pick = strings.TrimPrefix(tag, "v")
		}
	}
	if pick == "" {
		if highest == nil {
			return "0.1.0", nil
		}
		return highest.IncPatch().String(), nil
	}
	v, err := semver.StrictNewVersion(strings.TrimPrefix(pick, "v"))
	if err != nil {
		return "", fmt.Errorf("version %q is not a semantic version (expected MAJOR.MINOR.PATCH)", pick)
	}
	if highest != nil && !v.GreaterThan(highest) {
		return "", fmt.Errorf("version %s is not above the highest release %s (versions increase per application)", v, highest)
	}
	return v.String(), nil
}
