// Package dashboard is `ferry server`'s web dashboard: a page at / whose files are
// embedded in the binary and served under /ui/. The page is plain HTML, CSS and
// JavaScript modules, with no build step; it reads everything through the REST API
// under /api/v1/ with the bearer token the user pastes in, so it shows a person exactly
// what the API would. This package serves the files and no data.
package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"ferry.dev/ferry/internal/acceptencoding"
)

//go:embed ui
var files embed.FS

// Prefix is where the assets are served.
const Prefix = "/ui/"

// securityHeaders go with every answer: the page runs its own scripts alone, talks only
// to its own server, and is never framed, so a token pasted into it stays there.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"X-Frame-Options":        "DENY",
}

// asset is one embedded file, ready to serve, and its gzip form when that is smaller.
type asset struct {
	body        []byte
	gz          []byte
	contentType string
	etag        string
}

// Handler serves the page at GET / (and at /ui/ for a bookmark of it) and the assets
// under /ui/. Assets are revalidated by their ETag, so a new binary's are used at once.
func Handler() http.Handler {
	assets, err := load()
	if err != nil { // the files are compiled in: only a broken build gets here
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "the dashboard's files are unreadable: "+err.Error(), http.StatusInternalServerError)
		})
	}
	index := assets["index.html"]
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { serve(w, r, index) })
	mux.HandleFunc("GET "+Prefix+"{$}", func(w http.ResponseWriter, r *http.Request) { serve(w, r, index) })
	mux.HandleFunc("GET "+Prefix+"{file...}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.PathValue("file")]
		if !ok {
			setHeaders(w)
			http.NotFound(w, r)
			return
		}
		serve(w, r, a)
	})
	return mux
}

// load reads the embedded files, keyed by their path under ui/.
func load() (map[string]asset, error) {
	assets := map[string]asset{}
	err := fs.WalkDir(files, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a := asset{body: b, contentType: ct, etag: hex.EncodeToString(sum[:8])}
		if a.gz, err = compress(b); err != nil {
			return err
		}
		assets[strings.TrimPrefix(p, "ui/")] = a
		return nil
	})
	return assets, err
}

func setHeaders(w http.ResponseWriter) {
	for k, v := range securityHeaders {
		w.Header().Set(k, v)
	}
}

// compress is b gzipped, or nil when that saves less than a tenth.
func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > len(b)*9/10 {
		return nil, nil
	}
	return buf.Bytes(), nil
}

// serve answers with the asset (gzipped when the browser takes it), or 304 when the
// browser has it. Each form has its own ETag.
func serve(w http.ResponseWriter, r *http.Request, a asset) {
	setHeaders(w)
	body, etag := a.body, `"`+a.etag+`"`
	w.Header().Set("Vary", "Accept-Encoding")
	if a.gz != nil && acceptencoding.Gzip(r.Header.Get("Accept-Encoding")) {
		body, etag = a.gz, `"`+a.etag+`-gz"`
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}
