// Package main is the ferry command, Ferry's single binary: the CLI verbs, the controller and
// the server.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"ferry.dev/ferry/internal/cli"
	"ferry.dev/ferry/internal/startup"
)

func main() {
	startup.Done()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
