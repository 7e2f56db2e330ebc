package api

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// A page of applications: a namespace with more goes on with ?continue=. The default
// brings a thousand applications, the board of a large team, in two pages.
const (
	defaultPage = 500
	maxPage     = 1000
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
	// Progress is that Promotion's, or the stage's last one's when none is under way.
	Progress
}

// listApplications pages through the namespace's applications in name order (?limit=,
// ?continue=), those whose name holds ?q= alone when it is given (any case). It reads
// the server's cache: a board of a thousand applications costs no request to the API
// server.
func (a *API) listApplications(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	if !a.allow(w, r, Access{Verb: "list", Resource: "applications", Namespace: ns},
		Access{Verb: "list", Resource: "promotions", Namespace: ns}) {
		return
	}
	limit, err := pageSize(r.URL.Query().Get("limit"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	after, err := decodeContinue(r.URL.Query().Get("continue"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list := &ferryv1.ApplicationList{}
	if err := a.Client.List(r.Context(), list, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		a.readFailed(w, r, "applications", err)
		return
	}
	page, more := pageOf(list.Items, strings.ToLower(r.URL.Query().Get("q")), after, int(limit))
	out := ApplicationList{Items: make([]ApplicationSummary, 0, len(page))}
	for _, app := range page {
		s, err := summarize(r.Context(), a.Client, app)
		if err != nil {
			a.readFailed(w, r, "promotions of "+ns+"/"+app.Name, err)
			return
		}
		out.Items = append(out.Items, s)
	}
	if more {
		out.Continue = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].Name))
	}
	writeJSON(w, http.StatusOK, out)
}

// pageOf is at most limit of the applications whose name holds q (lower case) and sorts
// after the name after, in name order, and whether more follow.
func pageOf(apps []ferryv1.Application, q, after string, limit int) ([]*ferryv1.Application, bool) {
	var match []*ferryv1.Application
	for i := range apps {
		if apps[i].Name > after && strings.Contains(strings.ToLower(apps[i].Name), q) {
			match = append(match, &apps[i])
		}
	}
	slices.SortFunc(match, func(a, b *ferryv1.Application) int { return strings.Compare(a.Name, b.Name) })
	return match[:min(limit, len(match))], len(match) > limit
}

// decodeContinue reads ?continue=: the name of the last application of the page before.
func decodeContinue(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", errors.New("continue: not a value this API gave")
	}
	return string(b), nil
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
// says of each and how far its active or last Promotion got.
func summarize(ctx context.Context, c client.Reader, app *ferryv1.Application) (ApplicationSummary, error) {
	s := ApplicationSummary{Name: app.Name, Namespace: app.Namespace, Stages: make([]StageSummary, 0, len(app.Spec.Stages))}
	if cond := meta.FindStatusCondition(app.Status.Conditions, ferryv1.ConditionReady); cond != nil {
		s.Ready, s.Message = string(cond.Status), cond.Message
	}
	status := map[string]ferryv1.StageStatus{}
	for _, st := range app.Status.Stages {
		status[st.Name] = st
	}
	for _, spec := range app.Spec.Stages {
		st := status[spec.Name]
		p, err := stagePromotion(ctx, c, app.Namespace, app.Name, spec.Name, st.ActivePromotion)
		if err != nil {
			return s, err
		}
		s.Stages = append(s.Stages, StageSummary{Name: spec.Name, Release: st.CurrentRelease, Version: st.CurrentVersion,
			LastVerifiedRelease: st.LastVerifiedRelease, ActivePromotion: st.ActivePromotion, Progress: progressOf(p)})
	}
	return s, nil
}
