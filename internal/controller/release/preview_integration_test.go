//go:build integration

package release_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/preview"
	"ferry.dev/ferry/internal/testenv"
)

const webFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web
  stages:
    - {name: dev, flows: [release, pr], target: [{cluster_id: [local]}]}
    - {name: prod, flows: [release], target: [{cluster_id: [local]}]}
`

const shopFile = `build: {buildType: go, artifact: shop}
deploy:
  namespace: shop
  stages:
    - {name: dev, flows: [branch], target: [{cluster_id: [local]}]}
    - {name: prod, flows: [release], target: [{cluster_id: [local]}]}
`

// TestPreview runs the controller against a real API server. The API server has no
// namespace controller: a deleted namespace stays Terminating, which counts as deleted.
// Nothing here deploys, so each test makes the preview namespace itself, labelled as
// the deployment of a preview makes it.
func TestPreview(t *testing.T) {
	rc := testenv.Start(t, "../../../config/crd")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
	scheme, err := controller.Scheme()
	must(t, err)
	c, err := client.New(rc, client.Options{Scheme: scheme}) // Ferry's kinds and Secrets, as the CLI's
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	for _, app := range []struct {
		name, file string
		devFlows   []ferryv1.Flow
	}{{"web", webFile, []ferryv1.Flow{"release", "pr"}}, {"shop", shopFile, []ferryv1.Flow{"branch"}}} {
		must(t, c.Create(ctx, &ferryv1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: app.name, Namespace: "default"},
			Spec: ferryv1.ApplicationSpec{AppFile: app.file, Stages: []ferryv1.StageSpec{
				{Name: "dev", Flows: app.devFlows, Clusters: []string{"local"}},
				{Name: "prod", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}},
			}},
		}))
	}

	t.Run("delete a pull request's preview", func(t *testing.T) {
		namespace(t, cs, "web-pr-7", preview.NamespaceLabels("web"))
		must(t, c.Create(ctx, newRelease("web", "0.1.0", webFile, withPR(7))))
		must(t, c.Create(ctx, newRelease("web", "1.0.0", webFile)))
		waitRelease(t, c, "web-0-1-0", func(r *ferryv1.Release) bool { return slices.Contains(r.Finalizers, preview.Finalizer) })
		main := waitRelease(t, c, "web-1-0-0", func(r *ferryv1.Release) bool { return len(r.Status.Conditions) > 0 })
		if len(main.Finalizers) != 0 {
			t.Errorf("a release of flow release got finalizers %v", main.Finalizers)
		}

		deleted, err := preview.Delete(ctx, c, rc, "default", "web", preview.Selector{PullRequest: 7})
		must(t, err)
		if want := []string{"namespace web-pr-7 in cluster local", "release web-0-1-0"}; !slices.Equal(deleted, want) {
			t.Errorf("deleted %q, want %q", deleted, want)
		}
		if ns := getNamespace(t, cs, "web-pr-7"); ns != nil && ns.Status.Phase != corev1.NamespaceTerminating {
			t.Errorf("namespace web-pr-7 is %s", ns.Status.Phase)
		}
		waitGone(t, c, "web-0-1-0")
		must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web-1-0-0"}, &ferryv1.Release{}))

		// Deleting it again finds nothing.
		deleted, err = preview.Delete(ctx, c, rc, "default", "web", preview.Selector{PullRequest: 7})
		must(t, err)
		if len(deleted) != 0 {
			t.Errorf("deleted again: %q", deleted)
		}
	})

	t.Run("a preview expires after its time to live", func(t *testing.T) {
		namespace(t, cs, "web-pr-8", preview.NamespaceLabels("web"))
		ttlFile := strings.Replace(webFile, "  namespace: web\n", "  namespace: web\n  previewTTL: \"2s\"\n", 1)
		rel := newRelease("web", "0.2.0", ttlFile, withPR(8))
		must(t, c.Create(ctx, rel))
		waitGone(t, c, "web-0-2-0")
		ns := getNamespace(t, cs, "web-pr-8")
		if ns != nil && ns.DeletionTimestamp == nil {
			t.Fatalf("namespace web-pr-8 is %s, not deleted", ns.Status.Phase)
		}
		if ns != nil {
			if lived := ns.DeletionTimestamp.Sub(rel.CreationTimestamp.Time); lived < 2*time.Second {
				t.Errorf("the preview was deleted %s after it was made, before its time to live of 2s", lived)
			}
		}
	})

	t.Run("an expired release keeps the namespace a newer release of its pull request uses", func(t *testing.T) {
		namespace(t, cs, "web-pr-9", preview.NamespaceLabels("web"))
		ttlFile := strings.Replace(webFile, "  namespace: web\n", "  namespace: web\n  previewTTL: 2s\n", 1)
		must(t, c.Create(ctx, newRelease("web", "0.3.0", ttlFile, withPR(9))))
		must(t, c.Create(ctx, newRelease("web", "0.3.1", webFile, withPR(9))))
		waitGone(t, c, "web-0-3-0")
		if ns := getNamespace(t, cs, "web-pr-9"); ns == nil || ns.DeletionTimestamp != nil {
			t.Fatalf("namespace web-pr-9 was deleted while release web-0-3-1 uses it")
		}
		// Deleting the last Release of the pull request, as a person would with kubectl,
		// deletes the namespace through the finalizer.
		must(t, c.Delete(ctx, &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "web-0-3-1", Namespace: "default"}}))
		waitGone(t, c, "web-0-3-1")
		if ns := getNamespace(t, cs, "web-pr-9"); ns != nil && ns.DeletionTimestamp == nil {
			t.Errorf("namespace web-pr-9 is %s after its last release went", ns.Status.Phase)
		}
	})

	t.Run("a namespace not made for a preview is kept", func(t *testing.T) {
		// The branch "prod" of shop names the namespace shop-prod: here, production's.
		namespace(t, cs, "shop-prod", nil)
		must(t, c.Create(ctx, newRelease("shop", "0.1.0", shopFile, withBranch("prod"))))
		waitRelease(t, c, "shop-0-1-0", func(r *ferryv1.Release) bool { return slices.Contains(r.Finalizers, preview.Finalizer) })
		deleted, err := preview.Delete(ctx, c, rc, "default", "shop", preview.Selector{Branch: "prod"})
		want := "kept namespace shop-prod in cluster local: not made for a preview of shop (no labels ferry.dev/preview=true, ferry.dev/application=shop)"
		if err == nil || err.Error() != want {
			t.Errorf("error %v, want %s", err, want)
		}
		if !slices.Equal(deleted, []string{"release shop-0-1-0"}) {
			t.Errorf("deleted %q", deleted)
		}
		waitGone(t, c, "shop-0-1-0")
		if ns := getNamespace(t, cs, "shop-prod"); ns == nil || ns.DeletionTimestamp != nil {
			t.Errorf("namespace shop-prod was deleted")
		}
	})
}

type releaseOption func(*ferryv1.Release)

func withPR(n int32) releaseOption {
	return func(r *ferryv1.Release) {
		r.Spec.Flow = ferryv1.FlowPR
		r.Spec.Git = &ferryv1.GitInfo{Commit: "abcdef1", Branch: fmt.Sprintf("feature-%d", n), PullRequest: &n}
	}
}

func withBranch(b string) releaseOption {
	return func(r *ferryv1.Release) {
		r.Spec.Flow = ferryv1.FlowBranch
		r.Spec.Git = &ferryv1.GitInfo{Commit: "abcdef1", Branch: b}
	}
}

func newRelease(app, version, file string, opts ...releaseOption) *ferryv1.Release {
	r := &ferryv1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: app + "-" + strings.ReplaceAll(version, ".", "-"), Namespace: "default",
			Labels: map[string]string{ferryv1.LabelApplication: app}},
		Spec: ferryv1.ReleaseSpec{Application: app, Version: version, Flow: ferryv1.FlowRelease, AppFile: file,
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/" + app, Tag: version, Digest: "sha256:" + fmt.Sprintf("%064x", 7)}}},
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// namespace makes the namespace with the labels, or labels it if it exists.
func namespace(t *testing.T, cs kubernetes.Interface, name string, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		ns, gerr := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		must(t, gerr)
		ns.Labels = labels
		_, err = cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
	}
	must(t, err)
}

// getNamespace returns the namespace, nil when it does not exist.
func getNamespace(t *testing.T, cs kubernetes.Interface, name string) *corev1.Namespace {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	must(t, err)
	return ns
}

func waitRelease(t *testing.T, c client.Client, name string, ok func(*ferryv1.Release) bool) *ferryv1.Release {
	t.Helper()
	r := &ferryv1.Release{}
	eventually(t, func() error {
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, r); err != nil {
			return err
		}
		if !ok(r) {
			return fmt.Errorf("release %s: finalizers %v, conditions %+v", name, r.Finalizers, r.Status.Conditions)
		}
		return nil
	})
	return r
}

func waitGone(t *testing.T, c client.Client, name string) {
	t.Helper()
	eventually(t, func() error {
		r := &ferryv1.Release{}
		err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, r)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("release %s still exists: deletion %v, finalizers %v, conditions %+v", name, r.DeletionTimestamp, r.Finalizers, r.Status.Conditions)
	})
}

func eventually(t *testing.T, check func() error) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if last = check(); last == nil {
			return
		}
	}
	t.Fatal(last)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
