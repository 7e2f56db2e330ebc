package api

import (
	"net/http"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// An application shows its newest maxReleases Releases (the cache holds them all).
const maxReleases = 100

// ApplicationDetail is GET .../applications/{app}.
type ApplicationDetail struct {
	ApplicationSummary
	// Releases are the newest first.
	Releases []ReleaseSummary `json:"releases"`
	// ReleasesTruncated says the application has more Releases than are shown.
	ReleasesTruncated bool `json:"releasesTruncated,omitempty"`
}

// ReleaseSummary is one Release of an application.
type ReleaseSummary struct {
	Name    string       `json:"name"`
	Version string       `json:"version"`
	Flow    ferryv1.Flow `json:"flow"`
	Created metav1.Time  `json:"created"`
	// Commit is the git commit it was made from, when known.
	Commit string `json:"commit,omitempty"`
	// VerifiedStages are the stages it was verified in.
	VerifiedStages []string `json:"verifiedStages,omitempty"`
}

func (a *API) getApplication(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("app")
	if !a.allow(w, r, Access{Verb: "get", Resource: "applications", Namespace: ns, Name: name},
		Access{Verb: "list", Resource: "releases", Namespace: ns}, Access{Verb: "list", Resource: "promotions", Namespace: ns}) {
		return
	}
	app := &ferryv1.Application{}
	if err := a.Client.Get(r.Context(), client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
		a.readFailed(w, r, "application "+ns+"/"+name, err)
		return
	}
	rels := &ferryv1.ReleaseList{}
	if err := a.Client.List(r.Context(), rels, client.InNamespace(ns), client.MatchingFields{indexApp: name}); err != nil {
		a.readFailed(w, r, "releases of "+ns+"/"+name, err)
		return
	}
	summary, err := summarize(r.Context(), a.Client, app)
	if err != nil {
		a.readFailed(w, r, "promotions of "+ns+"/"+name, err)
		return
	}
	out := ApplicationDetail{ApplicationSummary: summary}
	out.Releases, out.ReleasesTruncated = newestReleases(rels.Items, maxReleases)
	writeJSON(w, http.StatusOK, out)
}

// newestReleases are at most n of the Releases, the newest first (by creation, then
// name for those made in the same second), and whether some were left out.
func newestReleases(rels []ferryv1.Release, n int) ([]ReleaseSummary, bool) {
	slices.SortFunc(rels, func(a, b ferryv1.Release) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	out := make([]ReleaseSummary, 0, min(n, len(rels)))
	for _, rel := range rels[:min(n, len(rels))] {
		s := ReleaseSummary{Name: rel.Name, Version: rel.Spec.Version, Flow: rel.Spec.Flow, Created: rel.CreationTimestamp}
		if rel.Spec.Git != nil {
			s.Commit = rel.Spec.Git.Commit
		}
		for _, v := range rel.Status.VerifiedStages {
			s.VerifiedStages = append(s.VerifiedStages, v.Stage)
		}
		out = append(out, s)
	}
	return out, len(rels) > n
}
