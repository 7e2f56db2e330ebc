package lint

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry.dev/ferry/internal/cli/iostreams"
)

func runLint(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand(iostreams.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestLintReportsEveryProblemAndFails(t *testing.T) {
	dir := t.TempDir()
	file := "build: {buildType: go, artifact: web}\ndeploy:\n  namespace: web\n  stages:\n    - {name: dev, flow: [release]}\n"
	if err := os.WriteFile(filepath.Join(dir, "kitt.yml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runLint(t, dir)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, want := range []string{
		filepath.Join(dir, "kitt.yml") + `:5:7: deploy.stages[0]: stage "dev" has no target`,
		filepath.Join(dir, "kitt.yml") + `:5:19: deploy.stages[0].flow: unknown field "flow" (did you mean "flows"?)`,
		"2 problem(s)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestLintSaysValid(t *testing.T) {
	stdout, _, err := runLint(t, "../../../examples/hello")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(stdout, "ferry.yml: valid (stages: dev, stage, prod)\n") {
		t.Fatalf("stdout %q", stdout)
	}
}
