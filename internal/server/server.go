// Package server is `ferry server`'s HTTP side: the web dashboard at /
// (internal/dashboard), the REST API under /api/v1/ (internal/api) and the webhooks.
// It receives the container registry's notifications, which make the ImageWatches that
// follow a pushed repository look at once, and GitHub's and GitLab's, verified by their
// shared secret:
// a push or a pull request makes the Release of its commit (built by the controller),
// a closed pull request deletes its preview environments. Each request is bounded
// in size and time; a refused one is logged without its body.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/api"
	"ferry.dev/ferry/internal/dashboard"
	"ferry.dev/ferry/internal/gitwebhook"
	"ferry.dev/ferry/internal/registryhook"
)

// maxBody bounds a webhook's body: GitHub sends at most 25 MB, but a push that large
// carries nothing Ferry reads beyond the first megabytes.
const maxBody = 5 << 20

// Server answers the webhooks.
type Server struct {
	// Client reads and writes the Ferry objects (uncached: the server acts seldom).
	Client client.Client
	// Local is the API server's own config, for the preview clean-up, the API's
	// token and access reviews, and the decisions it makes as its users.
	Local *rest.Config
	// Git verifies and reads GitHub's and GitLab's requests (no Secret: refused).
	Git gitwebhook.Config
	// BuildRegistry is where Releases made from commits push their images
	// (REGISTRY/ARTIFACT); without it a commit is only noted on its Application.
	BuildRegistry string
	// RegistryToken, when set, is the bearer token the registry's notifications carry.
	RegistryToken string
	// AuthProxy, when set, lets an authenticating proxy name the API's users (with its
	// secret); without it the API takes bearer tokens only.
	AuthProxy *api.ProxyAuth
	// Log gets one line per request acted on or refused.
	Log *log.Logger
	Now func() time.Time

	// cache and feed are the API's informer cache and live feed, once Start made them.
	cache client.Reader
	feed  *api.Feed
}

// Handler serves the web dashboard at / (its files under /ui/), the API under /api/v1/,
// /hooks/registry, /hooks/github, /hooks/gitlab and /healthz.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = log.New(io.Discard, "", 0)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks/registry", s.registry)
	mux.HandleFunc("POST /hooks/github", s.git)
	mux.HandleFunc("POST /hooks/gitlab", s.git)
	mux.Handle(api.Prefix, s.api())
	ui := dashboard.Handler()
	mux.Handle("GET /{$}", ui)
	mux.Handle("GET "+dashboard.Prefix, ui)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return mux
}

// api is the REST API, whose token and access reviews the server's own identity
// (Local) makes, and whose decisions it makes impersonating each user. Without a
// usable config the API answers 503 and the webhooks still work.
func (s *Server) api() http.Handler {
	var kube kubernetes.Interface
	var impersonate func(api.User) (client.Client, error)
	var err error
	if s.Local == nil {
		err = errors.New("no Kubernetes config")
	} else if kube, err = kubernetes.NewForConfig(s.Local); err == nil {
		impersonate, err = api.Impersonator(s.Local)
	}
	if err != nil {
		s.Log.Printf("the API is off: %v", err)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the API is not configured"})
		})
	}
	if s.cache == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the API's cache is not started"})
		})
	}
	return (&api.API{Client: s.cache, Direct: s.Client, Kube: kube, Feed: s.feed, Reviews: api.KubeReviews{Client: kube}, Log: s.Log, Now: s.Now,
		Impersonate: impersonate, Proxy: s.AuthProxy}).Handler()
}

// registry asks every ImageWatch that follows a pushed repository to look now.
func (s *Server) registry(w http.ResponseWriter, r *http.Request) {
	if s.RegistryToken != "" {
		if err := registryhook.Authorize(r.Header, "Authorization", "Bearer "+s.RegistryToken); err != nil {
			s.Log.Printf("registry notification from %s refused: %v", r.RemoteAddr, err)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	pushes, err := registryhook.Parse(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var checked []string
	for _, p := range pushes {
		names, err := s.checkNow(r.Context(), p)
		if err != nil {
			s.Log.Printf("registry push of %s/%s: %v", p.Registry, p.Repository, err)
			http.Error(w, "could not reach the Kubernetes API", http.StatusServiceUnavailable) // the registry tries again
			return
		}
		checked = append(checked, names...)
	}
	s.Log.Printf("registry notification: %d pushes, image watches asked to look: %v", len(pushes), checked)
	writeJSON(w, http.StatusOK, map[string]any{"checked": checked})
}

// checkNow marks the ImageWatches that follow the pushed repository. A watch matches
// when its repository is the pushed one at any registry address: the registry names
// itself as the pusher addressed it, and a needless look costs one request.
func (s *Server) checkNow(ctx context.Context, p registryhook.Push) ([]string, error) {
	list := &ferryv1.ImageWatchList{}
	if err := s.Client.List(ctx, list); err != nil {
		return nil, err
	}
	var names []string
	stamp := s.Now().UTC().Format(time.RFC3339Nano)
	for i := range list.Items {
		iw := &list.Items[i]
		if iw.Spec.Repository != p.Registry+"/"+p.Repository && !strings.HasSuffix(iw.Spec.Repository, "/"+p.Repository) {
			continue
		}
		patch := client.MergeFrom(iw.DeepCopy())
		if iw.Annotations == nil {
			iw.Annotations = map[string]string{}
		}
		iw.Annotations[ferryv1.AnnotationCheckRequested] = stamp
		if err := s.Client.Patch(ctx, iw, patch); client.IgnoreNotFound(err) != nil {
			return names, err
		}
		names = append(names, iw.Namespace+"/"+iw.Name)
	}
	return names, nil
}

// git verifies a GitHub or GitLab request and acts on its trigger.
func (s *Server) git(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	t, err := gitwebhook.Receive(s.Git, r.Header, body)
	switch {
	case errors.Is(err, gitwebhook.ErrUnauthorized) || errors.Is(err, gitwebhook.ErrNoSecret):
		s.Log.Printf("%s from %s refused: %v", r.URL.Path, r.RemoteAddr, err) // never the body
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	case err != nil:
		s.Log.Printf("%s from %s: %v", r.URL.Path, r.RemoteAddr, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	done, err := s.act(r.Context(), t)
	if err != nil {
		s.Log.Printf("%s %s of %s: %v", t.Provider, t.Kind, t.RepoURL, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.Log.Printf("%s %s of %s (%s): %v", t.Provider, t.Kind, t.RepoURL, t.Reason, done)
	writeJSON(w, http.StatusOK, map[string]any{"kind": t.Kind, "reason": t.Reason, "done": done})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
