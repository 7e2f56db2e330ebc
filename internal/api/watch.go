package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// A watch stream sends a comment every heartbeat so that proxies keep it open and the
// client sees a dead connection; every recheckBeats heartbeats the caller's rights are
// reviewed again, so a revoked right ends the stream within a minute. A write that
// cannot go out within writeTimeout ends the stream.
const (
	heartbeat    = 15 * time.Second
	recheckBeats = 4
	writeTimeout = 30 * time.Second
)

// watch streams the namespace's changes as server-sent events (text/event-stream):
// "application" with a board row whenever one changes, "promotion" with a
// PromotionChange whenever a Promotion does, and "resync" when the stream fell behind
// and the client must fetch the board again. A client should open the stream before it
// fetches the board, so that no change falls between the two.
func (a *API) watch(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	reads := []Access{{Verb: "list", Resource: "applications", Namespace: ns}, {Verb: "list", Resource: "promotions", Namespace: ns}}
	if !a.allow(w, r, reads...) {
		return
	}
	if a.Feed == nil {
		writeError(w, http.StatusServiceUnavailable, "live updates are off in this server")
		return
	}
	sub, cancel := a.Feed.subscribe(ns)
	defer cancel()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx would hold the events back
	w.WriteHeader(http.StatusOK)
	send := func(text string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := io.WriteString(w, text); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(": watching\n\n") { // the headers go out now: the client knows it watches
		return
	}
	a.stream(r, sub, send, func() bool { return a.stillAllowed(r, reads) })
}

// stream sends the subscriber's events until the client goes, the server stops, a
// write fails or the caller's rights are gone.
func (a *API) stream(r *http.Request, sub *subscriber, send func(string) bool, allowed func() bool) {
	beat := time.NewTicker(a.Feed.heartbeat)
	defer beat.Stop()
	for beats := 1; ; {
		var text string
		select {
		case <-r.Context().Done():
			return
		case <-a.Feed.done:
			return
		case ev := <-sub.events:
			text = fmt.Sprintf("event: %s\ndata: %s\n\n", ev.name, ev.data)
		case <-sub.resync:
			drain(sub.events)
			text = "event: resync\ndata: {}\n\n"
		case <-beat.C:
			if beats++; beats%recheckBeats == 0 && !allowed() {
				return
			}
			text = ": heartbeat\n\n"
		}
		if !send(text) {
			return
		}
	}
}

// stillAllowed checks the caller's token and reviews their rights again, as at the
// stream's start: an expired or revoked token, or a right taken away, ends the stream.
func (a *API) stillAllowed(r *http.Request, reads []Access) bool {
	if !a.tokenStillGood(r) {
		a.Log.Printf("%s %s: the token is no longer accepted; stream ended", r.Method, r.URL.Path)
		return false
	}
	for _, acc := range reads {
		if !a.may(r, acc) {
			a.Log.Printf("%s %s: the rights to watch are gone; stream ended", r.Method, r.URL.Path)
			return false
		}
	}
	return true
}

// tokenStillGood asks the API server (or the token cache) about the request's bearer
// token again; a request through the authenticating proxy has none to ask about, and a
// failure to ask keeps the stream.
func (a *API) tokenStillGood(r *http.Request) bool {
	if a.Proxy != nil && r.Header.Get(ProxySecretHeader) != "" {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return true
	}
	if _, cached := a.tokens.get(token); cached {
		return true
	}
	u, err := a.Reviews.Authenticate(r.Context(), token)
	if err == nil {
		a.tokens.put(token, u)
	}
	return !errors.Is(err, ErrUnauthenticated)
}

// drain empties the channel: after a resync the events queued before it are stale.
func drain(ch chan sseEvent) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
