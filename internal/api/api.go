// Package api is the REST API of `ferry server` under /api/v1/: JSON reads of the Ferry
// objects for the dashboard and for scripts, and approvals. Every request but the
// OpenAPI description carries a Kubernetes bearer token, checked by a TokenReview (or
// comes through a trusted authenticating proxy with its secret); every read is allowed
// by a SubjectAccessReview for that user first, so the API shows a person exactly what
// kubectl would. The reads themselves are made with the server's own client, which
// keeps one client for every caller. A decision (approve, reject) is made as the user,
// through a client impersonating them: the API server's RBAC and its admission policy
// judge the real person, exactly as for `ferry approve`.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1/"

// API serves the routes under Prefix.
type API struct {
	// Client reads the Ferry objects once a review has allowed the caller: the server's
	// informer cache of Applications, Releases and Promotions (with Indexes and
	// Transform), so that reads cost the API server nothing.
	Client client.Reader
	// Direct reads from the API server what the cache does not hold (ChangeRecords).
	Direct client.Reader
	// Kube reads Events and the ConfigMaps that keep hook logs.
	Kube kubernetes.Interface
	// Feed streams the cache's changes to watchers; without it watch answers 503.
	Feed *Feed
	// Reviews authenticates tokens and authorises reads (the API server's reviews).
	Reviews Reviewer
	// Log gets one line per refused or failed request (never a token).
	Log *log.Logger
	// Now is the clock of the review cache and of the DORA period.
	Now func() time.Time
	// Impersonate returns a client acting as the user, for the decisions a person
	// makes; without it the decision routes answer 503.
	Impersonate func(User) (client.Client, error)
	// Proxy, when set, trusts an authenticating proxy's headers on requests carrying its
	// secret; other requests need a bearer token.
	Proxy *ProxyAuth

	tokens *reviewCache[User]
	access *reviewCache[verdict]
}

// Handler serves the API. The OpenAPI description is open; every other route needs a
// token.
func (a *API) Handler() http.Handler {
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Log == nil {
		a.Log = log.New(io.Discard, "", 0)
	}
	a.tokens = newReviewCache[User](reviewTTL, maxReviews, a.Now)
	a.access = newReviewCache[verdict](reviewTTL, maxReviews, a.Now)
	routes := http.NewServeMux()
	for _, rt := range a.routes() {
		routes.HandleFunc("GET "+Prefix+rt.path, rt.serve)
	}
	for _, rt := range a.actions() {
		routes.HandleFunc("POST "+Prefix+rt.path, rt.serve)
	}
	routes.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route "+r.Method+" "+r.URL.Path)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"openapi.json", serveOpenAPI)
	mux.Handle(Prefix, a.authenticate(routes))
	return mux
}

// route is one authenticated route, its path under Prefix.
type route struct {
	path  string
	serve http.HandlerFunc
}

// routes are the authenticated routes; the OpenAPI description names each of them.
func (a *API) routes() []route {
	return []route{
		{"namespaces/{ns}/applications", compressed(a.listApplications)},
		{"namespaces/{ns}/applications/{app}", compressed(a.getApplication)},
		{"namespaces/{ns}/applications/{app}/dora", a.getDORA},
		{"namespaces/{ns}/applications/{app}/history", compressed(a.getHistory)},
		{"namespaces/{ns}/promotions/{name}/hooks/{hook}/log", a.getHookLog},
		{"namespaces/{ns}/watch", a.watch},
		{"namespaces/{ns}/workloads", compressed(a.listWorkloads)},
		{"namespaces/{ns}/workloads/{app}/history", compressed(a.getWorkloadHistory)},
		{"namespaces/{ns}/promotions/{name}", a.getPromotion},
		{"namespaces/{ns}/applications/{app}/stages/{stage}/approval", a.getApproval},
	}
}

// actions are the authenticated POST routes, each a decision made as the user.
func (a *API) actions() []route {
	return []route{
		{"namespaces/{ns}/applications/{app}/stages/{stage}/approve", a.decide(ferryv1.DecisionApprove)},
		{"namespaces/{ns}/applications/{app}/stages/{stage}/reject", a.decide(ferryv1.DecisionReject)},
		{"namespaces/{ns}/applications/{app}/stages/{stage}/abort", a.override("abort", approval.Abort)},
		{"namespaces/{ns}/applications/{app}/stages/{stage}/resume", a.override("resume", approval.Resume)},
	}
}

// errorBody is every error's JSON.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store") // answers depend on who asks
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readFailed answers a failed read of the API server: a missing object is the caller's
// 404, anything else the server's trouble.
func (a *API) readFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	if apierrors.IsNotFound(err) {
		writeError(w, http.StatusNotFound, what+" not found")
		return
	}
	a.Log.Printf("%s %s: reading %s: %v", r.Method, r.URL.Path, what, err)
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		writeError(w, http.StatusBadGateway, fmt.Sprintf("reading %s: %s", what, status.Status().Message))
		return
	}
	writeError(w, http.StatusBadGateway, "reading "+what+": the Kubernetes API did not answer")
}
