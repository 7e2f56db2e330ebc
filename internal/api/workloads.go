package api

import (
	"context"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// WorkloadList is GET .../workloads: the version each application runs in each stage,
// as current-version managers list their workloads.
type WorkloadList struct {
	Items []Workload `json:"items"`
}

// Workload is one application in one stage.
type Workload struct {
	Application string `json:"application"`
	Stage       string `json:"stage"`
	// Cluster is one of the stage's target clusters (a stage of several has a row for
	// each); Namespace is where the Release runs in it.
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace,omitempty"`
	Version   string `json:"version,omitempty"`
	Release   string `json:"release,omitempty"`
	// Images are the Release's images with their digests.
	Images []ferryv1.ReleaseImage `json:"images,omitempty"`
	// DeployedAt is when the Release's deploy step finished in the stage.
	DeployedAt *metav1.Time `json:"deployedAt,omitempty"`
}

// listWorkloads is one row per application, stage and target cluster, in name, stage
// and cluster order, those
// whose application's name holds ?q= alone when given; a stage nothing was deployed to
// yet has its row without a version.
func (a *API) listWorkloads(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	if !a.allow(w, r, Access{Verb: "list", Resource: "applications", Namespace: ns},
		Access{Verb: "list", Resource: "releases", Namespace: ns}, Access{Verb: "list", Resource: "promotions", Namespace: ns}) {
		return
	}
	apps := &ferryv1.ApplicationList{}
	if err := a.Client.List(r.Context(), apps, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		a.readFailed(w, r, "applications", err)
		return
	}
	page, _ := pageOf(apps.Items, strings.ToLower(r.URL.Query().Get("q")), "", len(apps.Items))
	out := WorkloadList{Items: []Workload{}}
	for _, app := range page {
		rows, err := workloads(r.Context(), a.Client, app)
		if err != nil {
			a.readFailed(w, r, "releases of "+ns+"/"+app.Name, err)
			return
		}
		out.Items = append(out.Items, rows...)
	}
	writeJSON(w, http.StatusOK, out)
}

// workloads are the application's rows, one per stage and target cluster: a stage
// deploys the same Release to each of its clusters.
func workloads(ctx context.Context, c client.Reader, app *ferryv1.Application) ([]Workload, error) {
	current := map[string]string{}
	for _, st := range app.Status.Stages {
		current[st.Name] = st.CurrentRelease
	}
	rows := make([]Workload, 0, len(app.Spec.Stages))
	for _, spec := range app.Spec.Stages {
		row := Workload{Application: app.Name, Stage: spec.Name}
		if name := current[spec.Name]; name != "" {
			rel := &ferryv1.Release{}
			err := c.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: name}, rel, client.UnsafeDisableDeepCopy)
			if client.IgnoreNotFound(err) != nil {
				return nil, err
			}
			proms := &ferryv1.PromotionList{}
			if err := c.List(ctx, proms, client.InNamespace(app.Namespace), client.MatchingFields{indexAppStage: app.Name + "/" + spec.Name},
				client.UnsafeDisableDeepCopy); err != nil {
				return nil, err
			}
			fillWorkload(&row, app.Name, name, rel, proms.Items)
		}
		for _, id := range spec.Clusters {
			row.Cluster = id
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// fillWorkload writes what the stage's current Release (rel, empty when deleted since)
// and its Promotions there say.
func fillWorkload(row *Workload, app, release string, rel *ferryv1.Release, proms []ferryv1.Promotion) {
	row.Release = release
	if rel.Name != "" {
		row.Version, row.Images = rel.Spec.Version, rel.AppImages()
		row.Namespace = stageNamespace(app, rel, row.Stage)
	}
	row.DeployedAt = lastDeployed(proms, release)
}

// lastDeployed is when the newest of the Promotions put the Release in the stage, nil
// when none did.
func lastDeployed(proms []ferryv1.Promotion, release string) *metav1.Time {
	var at *metav1.Time
	for i := range proms {
		for _, d := range deploymentsOf(&proms[i]) {
			if d.release == release && (at == nil || at.Before(d.at)) {
				at = d.at
			}
		}
	}
	return at
}

// deployment is one Release put in a stage, and when.
type deployment struct {
	release string
	at      *metav1.Time
}

// deploymentsOf are the Releases the Promotion put in its stage: its own when its
// deploy step succeeded, then the one it returned to when its rollback did.
func deploymentsOf(p *ferryv1.Promotion) []deployment {
	var out []deployment
	for _, c := range p.Status.Checkpoints {
		if c.Phase != ferryv1.CheckpointSucceeded || c.FinishedAt == nil {
			continue
		}
		switch {
		case c.Name == ferryv1.StepDeploy:
			out = append(out, deployment{p.Spec.Release, c.FinishedAt})
		case c.Name == ferryv1.StepRollback && p.Status.RollbackTo != "":
			out = append(out, deployment{p.Status.RollbackTo, c.FinishedAt})
		}
	}
	return out
}
