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

// fatalIf ends the test or benchmark on an error.
func fatalIf(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
