package preview

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/appobject"
	clusterconfig "ferry.dev/ferry/internal/clusters"
	"ferry.dev/ferry/internal/promotion"
)

// ErrNoCluster is Target's error for a Cluster that does not exist.
var ErrNoCluster = clusterconfig.ErrNoCluster

// Target returns the Cluster named id in namespace ns and a config to reach it (see
// package clusters). A missing Cluster is ErrNoCluster.
func Target(ctx context.Context, c client.Client, local *rest.Config, ns, id string) (*ferryv1.Cluster, *rest.Config, error) {
	return clusterconfig.Config(ctx, c, local, ns, id)
}

// Delete removes the selected preview of the application app in namespace ns (where
// the Application, its Releases and the Clusters are): it deletes the preview
// namespace in every target cluster of the stages that take the preview's flow, then
// the preview's Releases (their Promotions go with them through their owner
// references; each Release's finalizer, run by the controller, finds the namespace
// gone). It returns what it deleted, for people ("namespace web-pr-7 in cluster
// local", "release web-1-4-0"); nothing deleted and no error means there was no such
// preview. A namespace that exists but was not made for a preview of the application
// is kept, and named in the error, after the Releases are deleted.
func Delete(ctx context.Context, c client.Client, local *rest.Config, ns, app string, sel Selector) (deleted []string, err error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	rels, err := releases(ctx, c, ns, app)
	if err != nil {
		return nil, err
	}
	var picked, others []ferryv1.Release
	for _, r := range rels {
		if sel.Matches(&r) {
			picked = append(picked, r)
		} else {
			others = append(others, r)
		}
	}
	previewNS := sel.Namespace(app)
	var kept []string
	if !inUse(others, app, previewNS) {
		ids, err := clusters(ctx, c, ns, app, sel.Flow(), picked)
		if err != nil {
			return nil, err
		}
		deleted, kept, err = deleteNamespace(ctx, c, local, ns, app, previewNS, ids)
		if err != nil {
			return deleted, err
		}
	}
	for _, r := range picked {
		if err := c.Delete(ctx, &r, client.Preconditions{UID: &r.UID}); client.IgnoreNotFound(err) != nil {
			return deleted, fmt.Errorf("deleting release %s: %w", r.Name, err)
		}
		deleted = append(deleted, "release "+r.Name)
	}
	if len(kept) > 0 {
		return deleted, fmt.Errorf("kept %s: not made for a preview of %s (no labels %s=true, %s=%s)",
			strings.Join(kept, ", "), app, LabelPreview, ferryv1.LabelApplication, app)
	}
	return deleted, nil
}

// Cleanup deletes the preview namespace of a Release that is being deleted, in every
// target cluster of the stages that take its flow, unless another Release that is not
// being deleted still uses it (a newer push to the same pull request). It returns the
// namespaces it deleted and those it kept because they were not made for a preview of
// the application. A missing Cluster is skipped: there is nothing left to reach. For a
// Release of flow release it does nothing.
func Cleanup(ctx context.Context, c client.Client, local *rest.Config, rel *ferryv1.Release) (deleted, kept []string, err error) {
	sel, ok := SelectorOf(rel)
	if !ok {
		return nil, nil, nil
	}
	app := rel.Spec.Application
	rels, err := releases(ctx, c, rel.Namespace, app)
	if err != nil {
		return nil, nil, err
	}
	var others []ferryv1.Release
	for _, r := range rels {
		if r.UID != rel.UID && r.DeletionTimestamp.IsZero() {
			others = append(others, r)
		}
	}
	previewNS := sel.Namespace(app)
	if inUse(others, app, previewNS) {
		return nil, nil, nil
	}
	ids, err := clusters(ctx, c, rel.Namespace, app, rel.Spec.Flow, []ferryv1.Release{*rel})
	if err != nil {
		return nil, nil, err
	}
	return deleteNamespace(ctx, c, local, rel.Namespace, app, previewNS, ids)
}

// releases lists the Releases of the application.
func releases(ctx context.Context, c client.Client, ns, app string) ([]ferryv1.Release, error) {
	list := &ferryv1.ReleaseList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing releases in %s: %w", ns, err)
	}
	var out []ferryv1.Release
	for _, r := range list.Items {
		if r.Spec.Application == app {
			out = append(out, r)
		}
	}
	return out, nil
}

// inUse reports whether one of the Releases deploys into the preview namespace.
func inUse(rels []ferryv1.Release, app, previewNS string) bool {
	for _, r := range rels {
		if Namespace(app, &r) == previewNS {
			return true
		}
	}
	return false
}

// clusters returns the ids of the target clusters of the stages that take the flow,
// from the Application, or when it is gone from the app files the Releases were made
// with.
func clusters(ctx context.Context, c client.Client, ns, app string, flow ferryv1.Flow, rels []ferryv1.Release) ([]string, error) {
	a := &ferryv1.Application{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: app}, a)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("application %s: %w", app, err)
	}
	stages := a.Spec.Stages
	if err != nil {
		for _, r := range rels {
			f, lerr := appfile.LoadBytes("release "+r.Name, []byte(r.Spec.AppFile), "", appfile.Options{})
			if lerr != nil {
				continue // it named no stage the Release could have reached
			}
			if obj, berr := appobject.Build(f, ns, nil); berr == nil {
				stages = append(stages, obj.Spec.Stages...)
			}
		}
	}
	var ids []string
	for _, s := range promotion.StagesFor(stages, flow) {
		for _, id := range s.Clusters {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// deleteNamespace deletes the preview namespace in each cluster where it exists and
// was made for a preview of the application; an existing one that was not is kept.
func deleteNamespace(ctx context.Context, c client.Client, local *rest.Config, ns, app, previewNS string, ids []string) (deleted, kept []string, err error) {
	if previewNS == "" {
		return nil, nil, errors.New("no preview namespace")
	}
	for _, id := range ids {
		_, rc, err := Target(ctx, c, local, ns, id)
		if errors.Is(err, ErrNoCluster) {
			continue // the Cluster is gone: nothing left to reach
		}
		if err != nil {
			return deleted, kept, err
		}
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return deleted, kept, fmt.Errorf("cluster %s: %w", id, err)
		}
		where := fmt.Sprintf("namespace %s in cluster %s", previewNS, id)
		obj, err := cs.CoreV1().Namespaces().Get(ctx, previewNS, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return deleted, kept, fmt.Errorf("%s: %w", where, err)
		case !Owned(obj, app):
			kept = append(kept, where)
			continue
		case obj.DeletionTimestamp != nil:
			continue // already on its way
		}
		err = cs.CoreV1().Namespaces().Delete(ctx, previewNS, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &obj.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return deleted, kept, fmt.Errorf("deleting %s: %w", where, err)
		}
		deleted = append(deleted, where)
	}
	return deleted, kept, nil
}
