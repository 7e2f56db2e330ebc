package promotion

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/canary"
	"ferry.dev/ferry/internal/clusters"
	"ferry.dev/ferry/internal/inventory"
	"ferry.dev/ferry/internal/kubeapply"
	"ferry.dev/ferry/internal/preview"
	"ferry.dev/ferry/internal/render"
	"ferry.dev/ferry/internal/rollout"
	"ferry.dev/ferry/internal/traffic"
)

// defaultDeployTimeout is used when the app file sets no deployTimeout.
const defaultDeployTimeout = 300 * time.Second

// How often a rollout is looked at: in the local cluster the watch on Deployments
// wakes the Promotion when the rollout completes, and the poll only shows progress;
// other clusters are polled.
const (
	localPoll  = 10 * time.Second
	remotePoll = 2 * time.Second
)

// optionalGroups are integrations a target may lack (KEDA, the Prometheus operator):
// their objects are skipped, and said so, rather than failing the deployment.
var optionalGroups = []string{"keda.sh", "monitoring.coreos.com"}

// deployAs returns the deploy step recorded under the given checkpoint: deploy for the
// Promotion's Release, rollback for the Release it returns to.
func (r *Reconciler) deployAs(step string) func(context.Context, *facts) (bool, time.Duration, error) {
	return func(ctx context.Context, f *facts) (bool, time.Duration, error) {
		if step == ferryv1.StepDeploy {
			file, err := f.file()
			if err != nil {
				return false, 0, &invalidError{err.Error()}
			}
			switch rt := file.App.ReleaseTypeFor(f.stage.Name); rt.Strategy {
			case appfile.StrategyCanary:
				return r.deployCanary(ctx, f, canaryPlan{steps: canary.Steps(rt.Canary), baseline: canary.Baseline(rt.Canary), background: canary.BackgroundOf(rt.Canary)})
			case appfile.StrategyABTest:
				return r.deployCanary(ctx, f, abPlan(rt.ABTest))
			case appfile.StrategyBlueGreen:
				return r.deployBlueGreen(ctx, f, rt.BlueGreen)
			}
		}
		if err := r.switchBack(ctx, f); err != nil {
			return false, 0, err
		}
		if done, wait, err := r.previewGone(ctx, f, step); !done || err != nil {
			return false, wait, err
		}
		return r.deploy(ctx, f, step)
	}
}

// deploy renders the Release for the stage, applies it to every target cluster with
// server-side apply (idempotent: a resumed step applies the same objects again and
// starts no new rollout), then waits for each rollout within the deploy timeout.
func (r *Reconciler) deploy(ctx context.Context, f *facts, step string) (bool, time.Duration, error) {
	file, err := f.file()
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	timeout := deployTimeout(file.App, f.stage.Name)
	ns, err := f.namespace()
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	var nsLabels map[string]string
	if preview.Namespace(f.app.Name, f.release) != "" {
		nsLabels = preview.NamespaceLabels(f.app.Name)
	}
	started := checkpoint(f.prom, step).StartedAt
	var notes, waiting []string
	local, polled := true, false
	renders := map[string]rendered{}
	conns := map[string]*conn{}
	for _, id := range f.stage.Clusters {
		cl, c, err := r.connect(ctx, f.prom.Namespace, id)
		if err != nil {
			return false, 0, err
		}
		local = local && c.local
		objs, err := r.render(ctx, f, cl)
		if err != nil {
			return false, 0, &invalidError{err.Error()}
		}
		objs, skipped, err := served(c.applier, objs)
		if err != nil {
			return false, 0, err
		}
		notes = append(notes, skipped...)
		rd := rendered{app: f.app.Name, ns: ns, objs: objs}
		renders[id], conns[id] = rd, c
		if checkpoint(f.prom, step).Applied == nil {
			if nsLabels != nil {
				if err := ownPreview(ctx, c, ns, f.app.Name, id); err != nil {
					return false, 0, err
				}
			}
			if err := r.applyRelease(ctx, f, c, rd, nsLabels); err != nil {
				return false, 0, err
			}
		}
		d, err := r.deployment(ctx, c, ns, file.App.Build.Artifact)
		if err != nil {
			return false, 0, err
		}
		switch {
		case d == nil || !runsVersion(d, f.release.Spec.Version):
			// A watched copy may still be the one before this apply, complete with
			// the old version: only the applied version's rollout counts.
			waiting = append(waiting, id+": the deployment of "+f.release.Spec.Version+" is not seen yet")
		default:
			msg, handedOver, err := r.handedOverLeft(ctx, f, step, c, d)
			switch {
			case err != nil:
				return false, 0, err
			case handedOver && msg != "":
				waiting, polled = append(waiting, id+": "+msg), true
			case !handedOver:
				if done, msg := rollout.Complete(d); !done {
					waiting = append(waiting, id+": "+msg)
				}
			}
		}
	}
	if checkpoint(f.prom, step).Applied == nil {
		now := metav1.NewTime(r.Now())
		r.update(f.prom, step, func(c *ferryv1.Checkpoint) { c.Applied = &now })
	}
	if len(waiting) > 0 {
		msg := "rolling out " + f.release.Spec.Version + ": " + strings.Join(waiting, "; ")
		elapsed := time.Duration(0)
		if started != nil {
			elapsed = r.Now().Sub(started.Time)
		}
		if elapsed > timeout {
			return false, 0, fmt.Errorf("%w: rollout not finished within the deploy timeout of %s (%s)", errStepFailed, timeout, strings.Join(waiting, "; "))
		}
		setMessage(f.prom, step, msg)
		// Changes of a local Deployment wake the Promotion; others are polled, and so
		// are pods that go.
		wait := remotePoll
		switch {
		case polled:
			wait = podsPoll
		case local:
			wait = localPoll
		}
		return false, min(wait, timeout-elapsed+time.Second), nil
	}
	// A canary beside the stable Deployment (promoted, or left by an aborted release)
	// goes once the stable one runs the version.
	if err := r.removeCanaries(ctx, f, file.App.Build.Artifact); err != nil {
		return false, 0, err
	}
	for _, id := range f.stage.Clusters {
		note, err := prune(ctx, id, conns[id], renders[id])
		if err != nil {
			return false, 0, err
		}
		if note != "" {
			notes = append(notes, note)
		}
	}
	msg := fmt.Sprintf("%s rolled out to %s", f.release.Spec.Version, strings.Join(f.stage.Clusters, ", "))
	if len(notes) > 0 {
		msg += "; " + strings.Join(notes, "; ")
	}
	setMessage(f.prom, step, msg)
	return true, 0, nil
}

// applyRelease applies a render for a deploy step: after the canary's handover in this
// reconcile, only its Deployments (its start applied the rest of the same render, and
// the handover ended their hold); else everything, once any hold a canary left is
// ended.
func (r *Reconciler) applyRelease(ctx context.Context, f *facts, c *conn, rd rendered, nsLabels map[string]string) error {
	if !f.handedOver {
		if err := r.unholdAll(ctx, c, rd.ns, rd.objs); err != nil {
			return err
		}
		return apply(ctx, c, rd, nsLabels, rd.objs)
	}
	var writes []func() error
	for _, o := range rd.objs {
		if o.GetKind() == "Deployment" {
			writes = append(writes, func() error { return applySized(ctx, c, o, autoscaled(rd.objs)) })
		}
	}
	return together(writes)
}

// applySized applies one object; a Deployment that the render's autoscaler sizes keeps
// the size it runs at.
func applySized(ctx context.Context, c *conn, o *unstructured.Unstructured, scaled map[string]bool) error {
	o, err := liveSized(ctx, c, o, scaled)
	if err != nil {
		return err
	}
	return c.applier.Apply(ctx, o)
}

// runsVersion reports whether the Deployment is the one written for the version (its
// version label, which the built-in objects and charts both carry).
func runsVersion(d *appsv1.Deployment, version string) bool {
	return versionOf(d) == version
}

// versionOf is the version a Deployment runs, from its labels.
func versionOf(d *appsv1.Deployment) string {
	if v, ok := d.Labels["ferry.dev/version"]; ok {
		return v
	}
	return d.Labels["app.kubernetes.io/version"]
}

func deployTimeout(app *appfile.App, stage string) time.Duration {
	st, _, err := app.Stage(stage)
	if err == nil && st.ReleaseType != nil && st.ReleaseType.DeployTimeout != nil {
		return time.Duration(*st.ReleaseType.DeployTimeout) * time.Second
	}
	if t := app.Deploy.ReleaseType.DeployTimeout; t != nil {
		return time.Duration(*t) * time.Second
	}
	return defaultDeployTimeout
}

// target finds the Cluster with the given id and a config to reach it; a missing
// Cluster or a Secret without a kubeconfig fails the step (no retry mends them).
func (r *Reconciler) target(ctx context.Context, ns, id string) (*ferryv1.Cluster, *rest.Config, error) {
	cl, rc, err := clusters.Config(ctx, r.Client, r.LocalConfig, ns, id)
	if errors.Is(err, clusters.ErrNoCluster) || errors.Is(err, clusters.ErrBadKubeconfig) {
		return nil, nil, &invalidError{err.Error()}
	}
	return cl, rc, err
}

func (r *Reconciler) render(ctx context.Context, f *facts, cl *ferryv1.Cluster) ([]*unstructured.Unstructured, error) {
	app, err := f.resolve(cl.Spec.Hosts)
	if err != nil {
		return nil, err
	}
	image, _ := f.images()
	if image == "" {
		// Never fall back to a bare name a node would look up in a public registry.
		return nil, fmt.Errorf("release %s has no app image (a Release built from a commit has one once its build pushed it)", f.release.Name)
	}
	return render.Objects(ctx, render.Input{App: app, Stage: f.stage.Name, Version: f.release.Spec.Version, Image: image, Application: f.app.Name,
		Cluster: render.Cluster{Name: cl.Name, Hosts: cl.Spec.Hosts, PrometheusURL: cl.Spec.PrometheusURL, Gateway: gatewayOf(cl)}})
}

// gatewayOf is the Gateway a Cluster names, if any.
func gatewayOf(cl *ferryv1.Cluster) *traffic.Gateway {
	g := cl.Spec.Gateway
	if g == nil {
		return nil
	}
	return &traffic.Gateway{Namespace: g.Namespace, Name: g.Name, SectionName: g.SectionName}
}

// ownPreview refuses to deploy a preview into a namespace that exists and is not this
// application's preview: its labels would make it one, and a preview's end deletes it.
func ownPreview(ctx context.Context, c *conn, ns, app, cluster string) error {
	got, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !preview.Owned(got, app) {
		return &invalidError{fmt.Sprintf("namespace %s exists in %s and is not a preview of %s: refusing to deploy the preview there", ns, cluster, app)}
	}
	return nil
}

// served splits the objects into those the target serves and notes on the ones of
// optional integrations it does not serve, which are skipped rather than failing.
func served(ap *kubeapply.Applier, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, []string, error) {
	var keep []*unstructured.Unstructured
	var skipped []string
	for _, o := range objs {
		ok, err := ap.Serves(o)
		if err != nil {
			return nil, nil, err
		}
		if !ok && optional(o.GroupVersionKind().Group) {
			skipped = append(skipped, fmt.Sprintf("%s skipped (the target does not serve %s)", o.GetKind(), o.GetAPIVersion()))
			continue
		}
		keep = append(keep, o)
	}
	return keep, skipped, nil
}

// apply creates the namespace, adds the render to the application's inventory there
// (before any of it is applied, so that nothing applied goes unrecorded), and
// server-side applies the objects: the render's, and a canary's or preview's own. A
// Deployment that the render's autoscaler sizes keeps the size it runs at.
func apply(ctx context.Context, c *conn, rec rendered, labels map[string]string, objs []*unstructured.Unstructured) error {
	nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": rec.ns}}}
	if len(labels) > 0 {
		nsObj.SetLabels(labels)
	}
	if err := c.applier.Apply(ctx, nsObj); err != nil {
		return err
	}
	if err := rec.inventory(c).Remember(ctx, rec.refs()); err != nil {
		return err
	}
	return applyObjects(ctx, c, rec, objs)
}

// applyObjects applies objects of a render in their waves (applyWaves).
func applyObjects(ctx context.Context, c *conn, rec rendered, objs []*unstructured.Unstructured) error {
	scaled := autoscaled(rec.objs)
	for _, wave := range applyWaves(objs) {
		writes := make([]func() error, len(wave))
		for i, o := range wave {
			writes[i] = func() error { return applySized(ctx, c, o, scaled) }
		}
		if err := together(writes); err != nil {
			return err
		}
	}
	return nil
}

// applyWaves orders the objects for apply in waves whose objects are applied at once
// (each a round trip the others need not wait for), in the spirit of Helm's install
// order: first, one at a time, what the API server needs to admit the rest (custom
// resource definitions, namespaces); then what workloads use (accounts and their
// roles, config, storage, Services, budgets and policies); then the workloads; then
// everything else, as Helm installs kinds it does not know last: routes, which must not
// reach a Service that is not there yet (a Gateway answers 500), autoscalers, admission
// webhooks, which must not hold up the objects before them, and custom resources. A
// wave keeps the render's order.
func applyWaves(objs []*unstructured.Unstructured) [][]*unstructured.Unstructured {
	var waves [][]*unstructured.Unstructured
	var used, workloads, rest []*unstructured.Unstructured
	for _, o := range objs {
		switch kind := o.GetKind(); {
		case lastWave(o):
			rest = append(rest, o)
		case kind == "CustomResourceDefinition" || kind == "Namespace":
			waves = append(waves, []*unstructured.Unstructured{o})
		case workloadKinds[kind]:
			workloads = append(workloads, o)
		default:
			used = append(used, o)
		}
	}
	for _, w := range [][]*unstructured.Unstructured{used, workloads, rest} {
		if len(w) > 0 {
			waves = append(waves, w)
		}
	}
	return waves
}

// lastWave reports whether an object goes in the last wave of an apply, after the
// workloads.
func lastWave(o *unstructured.Unstructured) bool {
	kind := o.GetKind()
	return kind != "CustomResourceDefinition" && kind != "Namespace" && !workloadKinds[kind] && !usedKinds[kind]
}

// workloadKinds are the kinds that run pods.
var workloadKinds = map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true,
	"ReplicationController": true, "Job": true, "CronJob": true, "Pod": true}

// usedKinds are what workloads use, applied before them (Helm installs them before too).
var usedKinds = map[string]bool{"ServiceAccount": true, "Secret": true, "ConfigMap": true, "Service": true,
	"PersistentVolume": true, "PersistentVolumeClaim": true, "StorageClass": true,
	"Role": true, "RoleBinding": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"PodDisruptionBudget": true, "NetworkPolicy": true, "ResourceQuota": true, "LimitRange": true, "PriorityClass": true}

// rendered is what a deploy renders for an application into one namespace of a cluster.
type rendered struct {
	app, ns string
	objs    []*unstructured.Unstructured
}

func (rd rendered) refs() []kubeapply.Ref { return inventory.Refs(rd.objs, rd.ns) }

// inventory is the record of the application's objects in the namespace of cluster c.
func (rd rendered) inventory(c *conn) inventory.Record {
	return inventory.Record{CS: c.cs, Applier: c.applier, NS: rd.ns, App: rd.app, Known: &c.inventories}
}

// prune deletes, once the render runs, what earlier renders applied and this one lacks;
// it returns a note of what went, "" when nothing did.
func prune(ctx context.Context, id string, c *conn, rd rendered) (string, error) {
	gone, err := rd.inventory(c).Prune(ctx, rd.refs())
	if err != nil || len(gone) == 0 {
		return "", err
	}
	names := make([]string, len(gone))
	for i, g := range gone {
		names[i] = g.String()
	}
	return fmt.Sprintf("%s: deleted what the render no longer has: %s", id, strings.Join(names, ", ")), nil
}

func optional(group string) bool {
	for _, g := range optionalGroups {
		if g == group {
			return true
		}
	}
	return false
}
