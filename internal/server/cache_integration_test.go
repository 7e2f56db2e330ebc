//go:build integration

package server_test

import (
	"context"
	"testing"

	"ferry.dev/ferry/internal/server"
)

// startServer starts the server's cache for the test, stopped when the test ends.
func startServer(t testing.TB, s *server.Server) *server.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}
