package api

import (
	_ "embed"
	"net/http"
)

// openAPI describes the routes; it is written by hand, and a test holds it to the
// routes the API serves.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}
