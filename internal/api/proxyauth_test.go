package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestProxyHeadersNeedTheSecret: the proxy's headers name the user only with the
// proxy's secret; forged ones without it fall back to the bearer token (none here:
// 401), and a wrong secret is refused.
func TestProxyHeadersNeedTheSecret(t *testing.T) {
	a := &API{Proxy: &ProxyAuth{UserHeader: "X-Forwarded-User", GroupsHeader: "X-Forwarded-Groups", Secret: []byte("s3cret")}}
	h := a.Handler()
	for _, tc := range []struct {
		name   string
		header map[string][]string
		status int
		user   string
		groups []string
	}{
		{name: "trusted", header: map[string][]string{"X-Forwarded-User": {"ann@example.com"}, "X-Forwarded-Groups": {"leads, sre", "sre,dev"},
			ProxySecretHeader: {"s3cret"}}, status: http.StatusNotFound, user: "ann@example.com", groups: []string{"leads", "sre", "dev", "system:authenticated"}},
		{name: "no groups", header: map[string][]string{"X-Forwarded-User": {"bob"}, ProxySecretHeader: {"s3cret"}},
			status: http.StatusNotFound, user: "bob", groups: []string{"system:authenticated"}},
		{name: "forged, without the secret", header: map[string][]string{"X-Forwarded-User": {"admin"}, "X-Forwarded-Groups": {"system:masters"}},
			status: http.StatusUnauthorized},
		{name: "a wrong secret", header: map[string][]string{"X-Forwarded-User": {"admin"}, ProxySecretHeader: {"guess"}}, status: http.StatusUnauthorized},
		{name: "a secret without a user", header: map[string][]string{ProxySecretHeader: {"s3cret"}}, status: http.StatusUnauthorized},
	} {
		// No route: once authenticated the request gets the router's 404, else a 401.
		req := httptest.NewRequest(http.MethodGet, Prefix+"nowhere", nil)
		for k, v := range tc.header {
			req.Header[http.CanonicalHeaderKey(k)] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body errorBody
		if rec.Code != tc.status || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error == "" {
			t.Errorf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body, tc.status)
		}
		u, _ := a.Proxy.user(req.Header)
		if tc.status != http.StatusUnauthorized && (u.Name != tc.user || !slices.Equal(u.Groups, tc.groups)) {
			t.Errorf("%s: user %+v, want %s in %v", tc.name, u, tc.user, tc.groups)
		}
	}
}
