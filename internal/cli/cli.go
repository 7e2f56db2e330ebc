// Package cli assembles the ferry command tree from the verb packages and runs it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	clianalysis "ferry.dev/ferry/internal/cli/analysis"
	"ferry.dev/ferry/internal/cli/answer"
	"ferry.dev/ferry/internal/cli/apply"
	"ferry.dev/ferry/internal/cli/approve"
	"ferry.dev/ferry/internal/cli/bench"
	"ferry.dev/ferry/internal/cli/build"
	"ferry.dev/ferry/internal/cli/controller"
	"ferry.dev/ferry/internal/cli/dev"
	"ferry.dev/ferry/internal/cli/dora"
	"ferry.dev/ferry/internal/cli/history"
	"ferry.dev/ferry/internal/cli/initfile"
	"ferry.dev/ferry/internal/cli/install"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/cli/judge"
	"ferry.dev/ferry/internal/cli/lint"
	"ferry.dev/ferry/internal/cli/logs"
	"ferry.dev/ferry/internal/cli/preview"
	"ferry.dev/ferry/internal/cli/release"
	"ferry.dev/ferry/internal/cli/render"
	"ferry.dev/ferry/internal/cli/rollback"
	cliserver "ferry.dev/ferry/internal/cli/server"
	clislo "ferry.dev/ferry/internal/cli/slo"
	"ferry.dev/ferry/internal/cli/status"
	"ferry.dev/ferry/internal/cli/verdict"
	"ferry.dev/ferry/internal/cli/version"
)

// NewRoot returns the root command with every verb attached.
func NewRoot(s iostreams.Streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "ferry",
		Short:         "Ferry carries each new version of an application through its stages.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.AddCommand(version.NewCommand(s.Out), dev.NewCommand(s), build.NewCommand(s),
		lint.NewCommand(s), render.NewCommand(s), initfile.NewCommand(s), install.NewCommand(s),
		controller.NewCommand(s), apply.NewCommand(s), release.NewCommand(s), status.NewCommand(s),
		approve.NewApproveCommand(s), approve.NewRejectCommand(s), approve.NewOverrideFreezeCommand(s), approve.NewResumeCommand(s), approve.NewAbortCommand(s), history.NewCommand(s), dora.NewCommand(s), bench.NewCommand(s),
		logs.NewCommand(s), answer.NewCommand(s), preview.NewCommand(s), rollback.NewCommand(s), judge.NewCommand(s), cliserver.NewCommand(s),
		clislo.NewCommand(s), clianalysis.NewCommand(s))
	return root
}

// exitCoder is an error that carries the process's exit code (the verdicts of ferry
// judge and ferry slo eval).
type exitCoder interface{ ExitCode() int }

// printed reports whether the command has said what the error means already: lint's
// problems, and the verdicts of the quality gates.
func printed(err error) bool {
	var canary *judge.ResultError
	return errors.Is(err, lint.ErrInvalid) || errors.Is(err, verdict.ErrPrinted) || errors.As(err, &canary)
}

// Execute runs the command line and returns the process exit code.
func Execute(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	root := NewRoot(iostreams.Streams{In: in, Out: out, Err: errOut})
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		code := 1
		var coded exitCoder
		if errors.As(err, &coded) {
			code = coded.ExitCode()
		}
		if !printed(err) {
			fmt.Fprintln(errOut, "Error:", err)
		}
		return code
	}
	return 0
}
