package api

import (
	"errors"
	"net/http"
	"time"

	"ferry.dev/ferry/internal/dora"
)

// DORA periods: the default is `ferry dora`'s; a year at most keeps a read bounded.
const (
	defaultSince = 30 * 24 * time.Hour
	maxSince     = 366 * 24 * time.Hour
)

// getDORA is the application's DORA figures in a stage (?stage=, default its last)
// over the period ending now (?since=, a Go duration).
func (a *API) getDORA(w http.ResponseWriter, r *http.Request) {
	ns, app := r.PathValue("ns"), r.PathValue("app")
	since := defaultSince
	if s := r.URL.Query().Get("since"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > maxSince {
			writeError(w, http.StatusBadRequest, "since: expected a positive Go duration (720h) of at most "+maxSince.String())
			return
		}
		since = d
	}
	if !a.allow(w, r, Access{Verb: "get", Resource: "applications", Namespace: ns, Name: app},
		Access{Verb: "list", Resource: "promotions", Namespace: ns}, Access{Verb: "list", Resource: "releases", Namespace: ns}) {
		return
	}
	now := a.Now()
	// The cache holds every Promotion and Release already: no bound makes a read cheaper,
	// and the cache's lists cannot tell a bound was met.
	f, err := dora.Read(r.Context(), a.Client, ns, app, r.URL.Query().Get("stage"), now.Add(-since), now, 0)
	if errors.Is(err, dora.ErrTooMany) {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if err != nil {
		a.readFailed(w, r, "application "+ns+"/"+app, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}
