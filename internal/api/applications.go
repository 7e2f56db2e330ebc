package api

import (
	"errors"
	"net/http"
	"strconv"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// A page of applications: a namespace with more goes on with ?continue=.
const (
	defaultPage = 100
	maxPage     = 500
)

// ApplicationList is GET .../applications.
type ApplicationList struct {
	Items []ApplicationSummary `json:"items"`
	// Continue, when set, fetches the next page (?continue=).
	Continue string `json:"continue,omitempty"`
}

// ApplicationSummary is one application and where each of its stages stands.
type ApplicationSummary struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Ready is the Ready condition's status (True, False, Unknown; empty before the
	// controller saw the application).
	Ready   string         `json:"ready,omitempty"`
	Message string         `json:"message,omitempty"`
	Stages  []StageSummary `json:"stages"`
}

// StageSummary is one stage, in the application's order.
type StageSummary struct {
	Name string `json:"name"`
	// Release and Version are what the stage runs (empty: nothing yet).
	Release string `json:"release,omitempty"`
	Version string `json:"version,omitempty"`
	// LastVerifiedRelease is where a rollback returns to.
	LastVerifiedRelease string `json:"lastVerifiedRelease,omitempty"`
	// ActivePromotion is the Promotion under way in the stage.
	ActivePromotion string `json:"activePromotion,omitempty"`
}

// listApplications pages through the namespace's applications (?limit=, ?continue=).
func (a *API) listApplications(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	if !a.allow(w, r, Access{Verb: "list", Resource: "applications", Namespace: ns}) {
		return
	}
	limit, err := pageSize(r.URL.Query().Get("limit"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list := &ferryv1.ApplicationList{}
	if err := a.Client.List(r.Context(), list, client.InNamespace(ns), client.Limit(limit),
		client.Continue(r.URL.Query().Get("continue"))); err != nil {
		a.readFailed(w, r, "applications", err)
		return
	}
	out := ApplicationList{Items: make([]ApplicationSummary, 0, len(list.Items)), Continue: list.Continue}
	for i := range list.Items {
		out.Items = append(out.Items, summarize(&list.Items[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

// pageSize reads ?limit=, defaultPage when absent, at most maxPage.
func pageSize(s string) (int64, error) {
	if s == "" {
		return defaultPage, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > maxPage {
		return 0, errLimit
	}
	return n, nil
}

var errLimit = errors.New("limit: expected a whole number from 1 to " + strconv.Itoa(maxPage))

// summarize is the application's stages in its spec's order, with what the status
// says of each.
func summarize(app *ferryv1.Application) ApplicationSummary {
	s := ApplicationSummary{Name: app.Name, Namespace: app.Namespace, Stages: make([]StageSummary, 0, len(app.Spec.Stages))}
	if c := meta.FindStatusCondition(app.Status.Conditions, ferryv1.ConditionReady); c != nil {
		s.Ready, s.Message = string(c.Status), c.Message
	}
	status := map[string]ferryv1.StageStatus{}
	for _, st := range app.Status.Stages {
		status[st.Name] = st
	}
	for _, spec := range app.Spec.Stages {
		st := status[spec.Name]
		s.Stages = append(s.Stages, StageSummary{Name: spec.Name, Release: st.CurrentRelease, Version: st.CurrentVersion,
			LastVerifiedRelease: st.LastVerifiedRelease, ActivePromotion: st.ActivePromotion})
	}
	return s
}
