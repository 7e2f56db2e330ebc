// Package verdict carries a quality gate's verdict (ferry slo eval, ferry analysis run)
// to the process's exit code: 0 pass, 1 warning or inconclusive, 2 fail, and 2 for any
// error, since a gate that cannot decide must not let a release through.
package verdict

import "errors"

// ErrPrinted is wrapped by the ExitError of a verdict other than pass, which the command
// has printed already: the caller exits with the code and prints nothing more.
var ErrPrinted = errors.New("the verdict is not a pass")

// ExitError carries the process's exit code.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the code the process should exit with.
func (e *ExitError) ExitCode() int { return e.Code }
