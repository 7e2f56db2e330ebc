package api

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCompressed: a large answer goes gzipped to a client that accepts it, as it is to
// one that does not; a small one and a refusal keep their bytes and status.
func TestCompressed(t *testing.T) {
	big := strings.Repeat("app,", gzipMin)
	h := compressed(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			writeJSON(w, http.StatusOK, big)
		case "/small":
			writeJSON(w, http.StatusOK, "small")
		default:
			writeError(w, http.StatusForbidden, "no")
		}
	})
	get := func(path, accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		rec := httptest.NewRecorder()
		h(rec, req)
		return rec
	}
	rec := get("/big", "br, gzip")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Vary") != "Accept-Encoding" ||
		rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("big, gzip accepted: %d %v", rec.Code, rec.Header())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if want := `"` + big + `"` + "\n"; string(body) != want || rec.Body.Len() > len(want)/10 {
		t.Errorf("big: %d bytes sent for %d", rec.Body.Len(), len(body))
	}
	for _, accept := range []string{"", "gzip;q=0", "br"} {
		if rec := get("/big", accept); rec.Header().Get("Content-Encoding") != "" || !strings.Contains(rec.Body.String(), big) {
			t.Errorf("big, Accept-Encoding %q: %v", accept, rec.Header())
		}
	}
	if rec := get("/small", "gzip"); rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != "\"small\"\n" {
		t.Errorf("small: %v %q", rec.Header(), rec.Body)
	}
	if rec := get("/refused", "gzip"); rec.Code != http.StatusForbidden || rec.Body.String() != `{"error":"no"}`+"\n" {
		t.Errorf("refused: %d %q", rec.Code, rec.Body)
	}
}
