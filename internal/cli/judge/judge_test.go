package judge

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/judge"
)

func runJudge(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand(iostreams.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// exitCode is what cli.Execute turns err into.
func exitCode(err error) int {
	var r *ResultError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &r):
		return r.ExitCode()
	}
	return 1
}

func TestJudgeCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{name: "same latency passes", args: []string{"--canary", "testdata/canary-same.json", "--baseline", "testdata/baseline.txt"},
			wantOut: []string{"PASS: all 1 metrics passed (action: proceed)", "samples: canary 40, baseline 40 (removed 0)", "no significant increase"}},
		{name: "slower canary fails", args: []string{"--canary", "testdata/canary-slow.txt", "--baseline", "testdata/baseline.txt", "--tolerance", "0.1"},
			wantCode: 2, wantOut: []string{"FAIL: metric value failed (action: abort)", "exceeds the 10.00% tolerance"}},
		{name: "slower is fine when a decrease is bad", args: []string{"--canary", "testdata/canary-slow.txt", "--baseline", "testdata/baseline.txt", "--direction", "decrease"},
			wantOut: []string{"PASS"}},
		{name: "three values are inconclusive", args: []string{"--canary", "testdata/canary-few.txt", "--baseline", "testdata/baseline.txt"},
			wantCode: 1, wantOut: []string{"INCONCLUSIVE", "too few samples: canary 3, baseline 40, need 10 each"}},
		{name: "min samples lowered", args: []string{"--canary", "testdata/canary-few.txt", "--baseline", "testdata/baseline.txt", "--min-samples", "3"},
			wantOut: []string{"PASS"}},
		{name: "bad direction", args: []string{"--canary", "testdata/canary-few.txt", "--baseline", "testdata/baseline.txt", "--direction", "up"},
			wantCode: 1, wantErr: `direction "up": want increase, decrease or either`},
		{name: "missing file", args: []string{"--canary", "testdata/none.txt", "--baseline", "testdata/baseline.txt"},
			wantCode: 1, wantErr: "reading values: open testdata/none.txt"},
		{name: "flags required", args: nil, wantCode: 1, wantErr: "--canary and --baseline are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runJudge(t, tt.args...)
			if got := exitCode(err); got != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d\n%s", got, err, tt.wantCode, out)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestJudgeCommandJSON(t *testing.T) {
	out, err := runJudge(t, "--canary", "testdata/canary-slow.txt", "--baseline", "testdata/baseline.txt",
		"--confidence", "0.99", "--name", "latency", "-o", "json")
	if exitCode(err) != 2 {
		t.Fatalf("err %v, want a fail", err)
	}
	var v judge.Verdict
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output is not a verdict: %v\n%s", err, out)
	}
	m := v.Metrics[0]
	if v.Result != judge.Fail || m.Name != "latency" || m.CanaryCount != 39 || m.Removed != 1 || m.PValue >= 0.01 || m.Effect <= 0.1 {
		t.Fatalf("verdict %+v", v)
	}
	if !strings.Contains(m.Criterion, "99% confidence (p < 0.01)") {
		t.Errorf("criterion %q", m.Criterion)
	}
}
