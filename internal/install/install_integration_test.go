//go:build integration

package install

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func release(name, version string) *ferryv1.Release {
	return &ferryv1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: ferryv1.ReleaseSpec{
			Application: "hello", Version: version, Flow: ferryv1.FlowRelease, AppFile: "build: {artifact: hello}\n",
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "127.0.0.1:5000/hello", Tag: version, Digest: digest}},
			Git:    &ferryv1.GitInfo{Commit: "0123abc", Branch: "main"},
		},
	}
}

// TestAPIServerChecksFerryObjects installs the CRDs into a real API server and checks
// that it accepts good objects and refuses bad ones with a message that says why.
func TestAPIServerChecksFerryObjects(t *testing.T) {
	rc := testenv.Start(t)
	ctx := context.Background()
	names, err := CRDs(ctx, rc, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"analysistemplates.ferry.dev", "applications.ferry.dev", "approvaldecisions.ferry.dev", "changerecords.ferry.dev", "clusters.ferry.dev", "extensions.ferry.dev", "imagewatches.ferry.dev", "promotions.ferry.dev", "releases.ferry.dev"}
	if !slices.Equal(names, want) {
		t.Fatalf("installed %v, want %v", names, want)
	}
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		t.Fatal(err)
	}

	app := &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: "build: {artifact: hello}\n", Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{ferryv1.FlowRelease}, Clusters: []string{"local"}},
			{Name: "prod", Clusters: []string{"local"}, ApproverGroups: []string{"a", "b"}, Quorum: 2},
		}},
	}
	if err := c.Create(ctx, app); err != nil {
		t.Fatalf("valid Application refused: %v", err)
	}
	good := release("hello-1-0-0", "1.0.0")
	if err := c.Create(ctx, good); err != nil {
		t.Fatalf("valid Release refused: %v", err)
	}
	prom := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "hello-dev-1", Namespace: "default"},
		Spec: ferryv1.PromotionSpec{Application: "hello", Release: good.Name, Stage: "dev"}}
	if err := c.Create(ctx, prom); err != nil {
		t.Fatalf("valid Promotion refused: %v", err)
	}

	refused := func(what string, err error, want string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: accepted", what)
		} else if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: refused with %q, want it to say %q", what, err, want)
		}
	}
	bad := release("bad-digest", "1.0.1")
	bad.Spec.Images[0].Digest = "latest"
	refused("bad digest", c.Create(ctx, bad), "spec.images[0].digest")
	bad = release("bad-version", "one")
	refused("bad version", c.Create(ctx, bad), "spec.version")
	bad = release("bad-flow", "1.0.2")
	bad.Spec.Flow = "hotfix"
	refused("unknown flow", c.Create(ctx, bad), `spec.flow: Unsupported value: "hotfix"`)
	bad = release("pr-without-number", "1.0.3")
	bad.Spec.Flow = ferryv1.FlowPR
	refused("pr flow without a pull request", c.Create(ctx, bad), "a pr Release needs git.pullRequest")

	changed := good.DeepCopy()
	changed.Spec.Version = "9.9.9"
	refused("changing a Release", c.Update(ctx, changed), "a Release is immutable")

	moved := prom.DeepCopy()
	moved.Spec.Stage = "prod"
	refused("moving a Promotion", c.Update(ctx, moved), "cannot change")

	dup := app.DeepCopy()
	dup.ObjectMeta = metav1.ObjectMeta{Name: "dup", Namespace: "default"}
	dup.Spec.Stages = append(dup.Spec.Stages, ferryv1.StageSpec{Name: "dev", Clusters: []string{"x"}})
	refused("duplicate stage", c.Create(ctx, dup), "Duplicate value")

	badStage := prom.DeepCopy()
	badStage.ObjectMeta = metav1.ObjectMeta{Name: "bad-stage", Namespace: "default"}
	badStage.Spec.Stage = "Prod_1"
	refused("stage name", c.Create(ctx, badStage), "spec.stage")
}
