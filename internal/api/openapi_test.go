package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPINamesEveryRoute: the description is served without a token, parses, and
// names exactly the routes the API serves, each with its one method.
func TestOpenAPINamesEveryRoute(t *testing.T) {
	a := &API{}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Prefix+"openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	want := []string{"/openapi.json"}
	method := map[string]string{"/openapi.json": "get"}
	for _, rt := range a.routes() {
		want = append(want, "/"+rt.path)
		method["/"+rt.path] = "get"
	}
	for _, rt := range a.actions() {
		want = append(want, "/"+rt.path)
		method["/"+rt.path] = "post"
	}
	var got []string
	for p, ops := range doc.Paths {
		got = append(got, p)
		if _, ok := ops[method[p]]; !ok || len(ops) != 1 {
			t.Errorf("%s: operations %v, want %s alone", p, ops, method[p])
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("described paths %v\nserved routes    %v", got, want)
	}
}

// TestNoTokenIsRefused: without a bearer token every route but the description is
// refused before anything is read or reviewed.
func TestNoTokenIsRefused(t *testing.T) {
	h := (&API{}).Handler()
	for _, path := range []string{"namespaces/team/applications", "namespaces/team/promotions/p", "nowhere"} {
		for _, auth := range []string{"", "Basic dXNlcjpwdw==", "Bearer "} {
			req := httptest.NewRequest(http.MethodGet, Prefix+path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var body errorBody
			if rec.Code != http.StatusUnauthorized || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error == "" {
				t.Errorf("%s with %q: %d %s", path, auth, rec.Code, rec.Body)
			}
		}
	}
}
