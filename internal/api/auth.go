package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

type userKey struct{}

// authenticate lets a request through with its user in the context: the user an
// authenticating proxy names when the request carries the proxy's secret, else the
// user of a bearer token the API server accepts (or accepted within reviewTTL).
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Proxy != nil && r.Header.Get(ProxySecretHeader) != "" {
			u, err := a.Proxy.user(r.Header)
			if err != nil {
				a.Log.Printf("%s %s from %s: %v", r.Method, r.URL.Path, r.RemoteAddr, err)
				writeError(w, http.StatusUnauthorized, err.Error())
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
			return
		}
		u, ok := a.tokenUser(w, r)
		if ok {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
		}
	})
}

// tokenUser is the user of the request's bearer token, or false once it has answered
// 401 (or 503 when the token could not be checked).
func (a *API) tokenUser(w http.ResponseWriter, r *http.Request) (User, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
		writeError(w, http.StatusUnauthorized, "no bearer token: send Authorization: Bearer TOKEN (a Kubernetes token)")
		return User{}, false
	}
	if u, cached := a.tokens.get(token); cached {
		return u, true
	}
	u, err := a.Reviews.Authenticate(r.Context(), token)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		a.Log.Printf("%s %s from %s: token refused", r.Method, r.URL.Path, r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="ferry", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "the token was refused by the Kubernetes API (bad or expired)")
		return User{}, false
	case err != nil:
		a.Log.Printf("%s %s: %v", r.Method, r.URL.Path, err)
		writeError(w, http.StatusServiceUnavailable, "could not check the token with the Kubernetes API")
		return User{}, false
	}
	a.tokens.put(token, u)
	return u, true
}

// allow answers 403 (or 503) and returns false unless the request's user may make
// every one of the reads (each answer cached for reviewTTL).
func (a *API) allow(w http.ResponseWriter, r *http.Request, reads ...Access) bool {
	u, _ := r.Context().Value(userKey{}).(User)
	for _, acc := range reads {
		ok, reason, err := a.authorize(r.Context(), u, acc)
		if err != nil {
			a.Log.Printf("%s %s: %v", r.Method, r.URL.Path, err)
			writeError(w, http.StatusServiceUnavailable, "could not check the rights with the Kubernetes API")
			return false
		}
		if !ok {
			msg := "user " + quote(u.Name) + " may not " + acc.String()
			if reason != "" {
				msg += ": " + reason
			}
			a.Log.Printf("%s %s: %s", r.Method, r.URL.Path, msg)
			writeError(w, http.StatusForbidden, msg)
			return false
		}
	}
	return true
}

func quote(s string) string { return `"` + s + `"` }
