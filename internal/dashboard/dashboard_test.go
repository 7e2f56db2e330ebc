package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestServesThePageAndItsFiles(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, tc := range []struct {
		path, wantType, wantBody string
		wantStatus               int
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/ui/app.js">`, http.StatusOK},
		{"/ui/", "text/html; charset=utf-8", `<script type="module" src="/ui/app.js">`, http.StatusOK},
		{"/ui/app.js", "text/javascript; charset=utf-8", "import", http.StatusOK},
		{"/ui/style.css", "text/css; charset=utf-8", ".board-row", http.StatusOK},
		{"/ui/nothing.js", "text/plain; charset=utf-8", "404 page not found", http.StatusNotFound},
		{"/ui/ui/app.js", "text/plain; charset=utf-8", "404 page not found", http.StatusNotFound},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != tc.wantStatus || resp.Header.Get("Content-Type") != tc.wantType || !strings.Contains(body, tc.wantBody) {
			t.Errorf("GET %s: %d %s %.80q; want %d %s with %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.wantStatus, tc.wantType, tc.wantBody)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
		}
	}
	resp, err := http.Post(srv.URL+"/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", resp.StatusCode)
	}
}

// TestRevalidatesByETag: a browser that has a file gets 304, and one whose copy is of
// another build gets the file.
func TestRevalidatesByETag(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/ui/board.js")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, resp.Header.Get("Cache-Control"))
	}
	for tag, want := range map[string]int{etag: http.StatusNotModified, `"0000"`: http.StatusOK} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ui/board.js", nil)
		req.Header.Set("If-None-Match", tag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if resp.StatusCode != want {
			t.Errorf("If-None-Match %s: %d, want %d", tag, resp.StatusCode, want)
		}
	}
}

// TestGzipWhenTaken: a browser that takes gzip gets the files compressed, under their
// own ETag; one that does not gets them as they are.
func TestGzipWhenTaken(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	etags := map[string]bool{}
	for _, enc := range []string{"gzip, deflate, br", "identity"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ui/board.js", nil)
		req.Header.Set("Accept-Encoding", enc) // set by hand: the client then leaves the body as sent
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		gzipped := resp.Header.Get("Content-Encoding") == "gzip"
		if gzipped != (enc != "identity") || resp.Header.Get("Vary") != "Accept-Encoding" || strings.Contains(body, "export function board") == gzipped {
			t.Errorf("Accept-Encoding %s: Content-Encoding %q, Vary %q, %d bytes", enc, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"), len(body))
		}
		etags[resp.Header.Get("ETag")] = true
	}
	if len(etags) != 2 {
		t.Errorf("ETags %v: want one per form", etags)
	}
}

// TestEveryImportIsEmbedded: each module the page loads, and each module those import,
// is one of the embedded files, and the page's preload list names them all (a missing
// one costs a round trip before the first paint).
func TestEveryImportIsEmbedded(t *testing.T) {
	assets, err := load()
	if err != nil {
		t.Fatal(err)
	}
	imports := regexp.MustCompile(`(?m)^import .* from "\./([a-z]+\.js)";$`)
	preloads := string(assets["index.html"].body)
	var modules int
	for name, a := range assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		modules++
		if name != "app.js" && !strings.Contains(preloads, `<link rel="modulepreload" href="/ui/`+name+`">`) {
			t.Errorf("index.html does not preload %s", name)
		}
		for _, m := range imports.FindAllStringSubmatch(string(a.body), -1) {
			if _, ok := assets[m[1]]; !ok {
				t.Errorf("%s imports %s, which is not embedded", name, m[1])
			}
		}
	}
	if modules < 5 {
		t.Errorf("only %d modules embedded", modules)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
