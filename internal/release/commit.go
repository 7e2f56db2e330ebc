package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

// CommitOptions describe a Release to build from a commit.
type CommitOptions struct {
	Namespace, Application string
	// Registry is where the images go: REGISTRY/ARTIFACT and REGISTRY/ARTIFACT-tests.
	Registry string
	Commit   string
	Branch   string
	// Flow is the flow the commit starts (empty: chosen from Branch and PullRequest as
	// for Create).
	Flow ferryv1.Flow
	// PullRequest is set for the pr flow.
	PullRequest int32
	CommittedAt time.Time
	CreatedBy   string
}

// ErrNothingToBuild is returned for an application whose app file builds nothing
// (buildType none): a commit alone cannot make its Release.
var ErrNothingToBuild = errors.New("its app file has buildType none: a commit alone makes no image")

// FromCommit makes the Release of a commit, which the release controller builds before
// it travels: the application's main package is the directory of its app file in the
// repository (spec.source), the tests package the app file's build.docker.tests.contextDir
// beside it. A Release of the same commit and flow that exists already is returned
// instead, with false: git hosts deliver a webhook again when unsure.
func FromCommit(ctx context.Context, c client.Client, o CommitOptions) (*ferryv1.Release, bool, error) {
	app := &ferryv1.Application{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Application}, app); err != nil {
		return nil, false, fmt.Errorf("application %s/%s: %w", o.Namespace, o.Application, err)
	}
	if app.Spec.Source == nil || app.Spec.Source.RepoURL == "" {
		return nil, false, fmt.Errorf("application %s has no spec.source.repoURL to build from", o.Application)
	}
	f, err := appfile.LoadBytes("application "+o.Application, []byte(app.Spec.AppFile), "", appfile.Options{})
	if err != nil {
		return nil, false, err
	}
	if f.App.Build.BuildType == appfile.BuildNone {
		return nil, false, fmt.Errorf("application %s: %w", o.Application, ErrNothingToBuild)
	}
	existing := &ferryv1.ReleaseList{}
	if err := c.List(ctx, existing, client.InNamespace(o.Namespace), client.MatchingLabels{ferryv1.LabelApplication: o.Application}); err != nil {
		return nil, false, err
	}
	flow := o.Flow
	if flow == "" {
		flow = Options{Branch: o.Branch, PullRequest: o.PullRequest}.flow()
	}
	for i := range existing.Items {
		r := &existing.Items[i]
		if g := r.Spec.Git; g != nil && g.Commit == o.Commit && r.Spec.Flow == flow {
			return r, false, nil
		}
	}
	version, err := NextVersion(versions(existing), "", "")
	if err != nil {
		return nil, false, err
	}
	rel := commitRelease(app, f, o, flow, version)
	if err := c.Create(ctx, rel); err != nil {
		return nil, false, fmt.Errorf("creating release %s: %w", rel.Name, err)
	}
	return rel, true, nil
}

// buildSpec says how the build Job makes the images of an app whose app file is in
// dir. A go app's main package is dir, its tests' dir/build.docker.tests.contextDir. A
// docker or maven app is built from its Dockerfile (build.docker.app.dockerFile,
// default Dockerfile, relative to dir) with dir as the context; its tests image from
// build.docker.tests.dockerFile (relative to dir; default contextDir/Dockerfile) with
// its contextDir (default dir) as the context.
func buildSpec(bd appfile.Build, dir, repository string) *ferryv1.ReleaseBuild {
	b := &ferryv1.ReleaseBuild{Package: dir, Repository: repository}
	d := bd.Docker
	if d == nil {
		d = &appfile.Docker{}
	}
	if bd.BuildType == appfile.BuildGo {
		if d.Tests != nil && d.Tests.ContextDir != "" {
			b.TestsPackage, b.TestsRepository = path.Join(dir, d.Tests.ContextDir), repository+"-tests"
		}
		return b
	}
	b.Dockerfile = path.Join(dir, "Dockerfile")
	if d.App != nil {
		b.Dockerfile = path.Join(dir, cmp.Or(d.App.DockerFile, "Dockerfile"))
		b.BuildArgs = d.App.BuildArgs
	}
	if t := d.Tests; t != nil && (t.DockerFile != "" || t.ContextDir != "") {
		b.TestsPackage, b.TestsRepository = path.Join(dir, t.ContextDir), repository+"-tests"
		b.TestsDockerfile = path.Join(b.TestsPackage, "Dockerfile")
		if t.DockerFile != "" {
			b.TestsDockerfile = path.Join(dir, t.DockerFile)
		}
	}
	return b
}

// commitRelease is the Release object of a commit at a version.
func commitRelease(app *ferryv1.Application, f *appfile.File, o CommitOptions, flow ferryv1.Flow, version string) *ferryv1.Release {
	b := buildSpec(f.App.Build, path.Dir(app.Spec.Source.Path), o.Registry+"/"+f.App.Build.Artifact)
	git := &ferryv1.GitInfo{Commit: o.Commit, Branch: o.Branch, RepoURL: app.Spec.Source.RepoURL}
	if !o.CommittedAt.IsZero() {
		git.CommittedAt = &metav1.Time{Time: o.CommittedAt}
	}
	if o.PullRequest > 0 {
		pr := o.PullRequest
		git.PullRequest = &pr
	}
	rel := &ferryv1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: Name(o.Application, version), Namespace: o.Namespace,
			Labels: map[string]string{ferryv1.LabelApplication: o.Application}},
		Spec: ferryv1.ReleaseSpec{Application: o.Application, Version: version, Flow: flow, Git: git, Build: b, AppFile: app.Spec.AppFile},
	}
	if o.CreatedBy != "" {
		rel.Annotations = map[string]string{ferryv1.AnnotationCreatedBy: o.CreatedBy}
	}
	return rel
}
