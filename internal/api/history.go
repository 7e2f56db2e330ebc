package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// A history shows the newest defaultHistory Promotions unless ?limit= asks for more.
const (
	defaultHistory = 50
	maxHistory     = 1000
)

// History is GET .../applications/{app}/history.
type History struct {
	Items []HistoryEntry `json:"items"`
}

// HistoryEntry is one Promotion of the application.
type HistoryEntry struct {
	Name    string                 `json:"name"`
	Release string                 `json:"release"`
	Version string                 `json:"version,omitempty"`
	Stage   string                 `json:"stage"`
	Phase   ferryv1.PromotionPhase `json:"phase,omitempty"`
	// StartedAt is when its first step began; FinishedAt when it ended.
	StartedAt  *metav1.Time `json:"startedAt,omitempty"`
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// CreatedBy is who asked for it: the person who rolled back, else who made its
	// Release (empty for a Release made by a webhook or an ImageWatch).
	CreatedBy string `json:"createdBy,omitempty"`
	// Commit is the git commit of its Release, when known.
	Commit string `json:"commit,omitempty"`
}

// getHistory is the application's Promotions, newest first (?limit=), those whose
// version, stage, phase or commit holds ?q= alone (any case) when it is given.
func (a *API) getHistory(w http.ResponseWriter, r *http.Request) {
	ns, app := r.PathValue("ns"), r.PathValue("app")
	limit := defaultHistory
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxHistory {
			writeError(w, http.StatusBadRequest, "limit: expected a whole number from 1 to "+strconv.Itoa(maxHistory))
			return
		}
		limit = n
	}
	if !a.allow(w, r, Access{Verb: "get", Resource: "applications", Namespace: ns, Name: app},
		Access{Verb: "list", Resource: "promotions", Namespace: ns}, Access{Verb: "list", Resource: "releases", Namespace: ns}) {
		return
	}
	entries, err := history(r.Context(), a.Client, ns, app)
	if err != nil {
		a.readFailed(w, r, "promotions of "+ns+"/"+app, err)
		return
	}
	out := History{Items: make([]HistoryEntry, 0, min(limit, len(entries)))}
	q := strings.ToLower(r.URL.Query().Get("q"))
	for _, e := range entries {
		if len(out.Items) < limit && e.matches(q) {
			out.Items = append(out.Items, e)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// history is every Promotion of the application, newest first, each with what its
// Release says of it.
func history(ctx context.Context, c client.Reader, ns, app string) ([]HistoryEntry, error) {
	proms := &ferryv1.PromotionList{}
	if err := c.List(ctx, proms, client.InNamespace(ns), client.MatchingFields{indexApp: app}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	rels := &ferryv1.ReleaseList{}
	if err := c.List(ctx, rels, client.InNamespace(ns), client.MatchingFields{indexApp: app}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	byName := map[string]*ferryv1.Release{}
	for i := range rels.Items {
		byName[rels.Items[i].Name] = &rels.Items[i]
	}
	ps := make([]*ferryv1.Promotion, 0, len(proms.Items))
	for i := range proms.Items {
		ps = append(ps, &proms.Items[i])
	}
	slices.SortFunc(ps, func(a, b *ferryv1.Promotion) int { return olderPromotion(b, a) })
	out := make([]HistoryEntry, 0, len(ps))
	for _, p := range ps {
		out = append(out, historyEntry(p, byName[p.Spec.Release]))
	}
	return out, nil
}

// historyEntry describes one Promotion; rel may be nil (deleted since).
func historyEntry(p *ferryv1.Promotion, rel *ferryv1.Release) HistoryEntry {
	e := HistoryEntry{Name: p.Name, Release: p.Spec.Release, Version: p.Annotations[ferryv1.AnnotationVersion], Stage: p.Spec.Stage,
		Phase: p.Status.Phase, StartedAt: progressOf(p).StartedAt}
	if cps := p.Status.Checkpoints; finished(p.Status.Phase) && len(cps) > 0 {
		e.FinishedAt = cps[len(cps)-1].FinishedAt
	}
	if rel != nil {
		if e.Version == "" {
			e.Version = rel.Spec.Version
		}
		e.CreatedBy = rel.Annotations[ferryv1.AnnotationCreatedBy]
		if rel.Spec.Git != nil {
			e.Commit = rel.Spec.Git.Commit
		}
	}
	if p.Spec.Rollback != nil && p.Spec.Rollback.User != "" {
		e.CreatedBy = p.Spec.Rollback.User
	}
	return e
}

// matches says whether the version, stage, phase or commit holds q (lower case).
func (e HistoryEntry) matches(q string) bool {
	for _, s := range []string{e.Version, e.Stage, string(e.Phase), e.Commit} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// finished says whether a Promotion of this phase has ended.
func finished(p ferryv1.PromotionPhase) bool {
	return p == ferryv1.PromotionSucceeded || p == ferryv1.PromotionFailed || p == ferryv1.PromotionSuperseded
}
