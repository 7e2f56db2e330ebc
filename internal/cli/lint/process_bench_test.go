package lint

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkLintProcess measures `ferry lint` as a user runs it: a whole process that
// starts, loads examples/hello with its built-in profile, checks it and exits. ns/op is
// the process wall time.
func BenchmarkLintProcess(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "ferry")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ferry")
	build.Dir = "../../.."
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building ferry: %v\n%s", err, out)
	}
	for b.Loop() {
		if out, err := exec.Command(bin, "lint", "../../../examples/hello").CombinedOutput(); err != nil {
			b.Fatalf("ferry lint: %v\n%s", err, out)
		}
	}
}
