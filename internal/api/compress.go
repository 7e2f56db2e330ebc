package api

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"sync"

	"ferry.dev/ferry/internal/acceptencoding"
)

// gzipMin is the smallest answer worth compressing: below it the header costs more than
// it saves.
const gzipMin = 8 << 10

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// compressed gzips a route's large answers for clients that accept it: the board of a
// thousand applications is some 870 KiB of JSON, a few dozen once compressed, which a
// dashboard on a slow link feels. The answer is built in memory first, so a refusal
// keeps its status and a small answer goes out as it is.
func compressed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptencoding.Gzip(r.Header.Get("Accept-Encoding")) {
			next(w, r)
			return
		}
		b := &bufferedResponse{ResponseWriter: w, status: http.StatusOK}
		next(b, r)
		if b.buf.Len() < gzipMin {
			w.WriteHeader(b.status)
			_, _ = w.Write(b.buf.Bytes())
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Del("Content-Length")
		w.WriteHeader(b.status)
		gz := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(gz)
		gz.Reset(w)
		_, _ = gz.Write(b.buf.Bytes())
		_ = gz.Close()
	}
}

// bufferedResponse holds an answer until the handler is done.
type bufferedResponse struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (b *bufferedResponse) WriteHeader(status int) { b.status = status }

func (b *bufferedResponse) Write(p []byte) (int, error) { return b.buf.Write(p) }
