package api

import (
	"net/http"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// WorkloadHistory is GET .../workloads/{app}/history: the versions deployed in each
// stage of the application, in its stages' order.
type WorkloadHistory struct {
	Application string                 `json:"application"`
	Stages      []WorkloadStageHistory `json:"stages"`
}

// WorkloadStageHistory is one stage's deployments, newest first.
type WorkloadStageHistory struct {
	Stage    string            `json:"stage"`
	Versions []DeployedVersion `json:"versions"`
}

// DeployedVersion is one Release put in the stage, by a Promotion or its rollback.
type DeployedVersion struct {
	Version    string      `json:"version,omitempty"`
	Release    string      `json:"release"`
	Promotion  string      `json:"promotion"`
	DeployedAt metav1.Time `json:"deployedAt"`
	// Rollback says the Release came back after a failure of a newer one.
	Rollback bool `json:"rollback,omitempty"`
}

// getWorkloadHistory lists the application's deployments per stage, newest first.
func (a *API) getWorkloadHistory(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("app")
	if !a.allow(w, r, Access{Verb: "get", Resource: "applications", Namespace: ns, Name: name},
		Access{Verb: "list", Resource: "releases", Namespace: ns}, Access{Verb: "list", Resource: "promotions", Namespace: ns}) {
		return
	}
	app := &ferryv1.Application{}
	if err := a.Client.Get(r.Context(), client.ObjectKey{Namespace: ns, Name: name}, app, client.UnsafeDisableDeepCopy); err != nil {
		a.readFailed(w, r, "application "+ns+"/"+name, err)
		return
	}
	proms := &ferryv1.PromotionList{}
	rels := &ferryv1.ReleaseList{}
	for _, l := range []client.ObjectList{proms, rels} {
		if err := a.Client.List(r.Context(), l, client.InNamespace(ns), client.MatchingFields{indexApp: name}, client.UnsafeDisableDeepCopy); err != nil {
			a.readFailed(w, r, "promotions of "+ns+"/"+name, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, workloadHistory(app, proms.Items, rels.Items))
}

// workloadHistory groups the Promotions' deployments by stage, newest first.
func workloadHistory(app *ferryv1.Application, proms []ferryv1.Promotion, rels []ferryv1.Release) WorkloadHistory {
	version := map[string]string{}
	for i := range rels {
		version[rels[i].Name] = rels[i].Spec.Version
	}
	byStage := map[string][]DeployedVersion{}
	for i := range proms {
		p := &proms[i]
		for _, d := range deploymentsOf(p) {
			byStage[p.Spec.Stage] = append(byStage[p.Spec.Stage], DeployedVersion{Version: version[d.release], Release: d.release,
				Promotion: p.Name, DeployedAt: *d.at, Rollback: d.release != p.Spec.Release})
		}
	}
	out := WorkloadHistory{Application: app.Name, Stages: make([]WorkloadStageHistory, 0, len(app.Spec.Stages))}
	for _, st := range app.Spec.Stages {
		vs := byStage[st.Name]
		slices.SortStableFunc(vs, func(a, b DeployedVersion) int { return b.DeployedAt.Compare(a.DeployedAt.Time) })
		out.Stages = append(out.Stages, WorkloadStageHistory{Stage: st.Name, Versions: append([]DeployedVersion{}, vs...)})
	}
	return out
}
