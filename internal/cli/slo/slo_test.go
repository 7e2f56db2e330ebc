package slo

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"ferry.dev/ferry/internal/cli/iostreams"
)

// runEval runs `slo eval` in-process and returns its stdout and exit code.
func runEval(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand(iostreams.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	cmd.SetArgs(append([]string{"eval"}, args...))
	err := cmd.Execute()
	code := 0
	var exit *ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("error without an exit code: %v", err)
	}
	return out.String(), code, err
}

func TestEvalExitCodesAndJSON(t *testing.T) {
	tests := []struct {
		values   string
		code     int
		result   string
		score    float64
		statuses []string
	}{
		// The comparison takes the 2 newest passing evaluations; one has no value, so 480
		// is the comparison value and <=+10% means <=528.
		{"testdata/pass.json", 0, "pass", 100, []string{"pass", "pass", "info"}},
		{"testdata/warning.json", 1, "warning", 75, []string{"warning", "pass", "info"}},
		{"testdata/fail.json", 2, "fail", 50, []string{"pass", "fail", "info"}},
	}
	for _, tt := range tests {
		t.Run(tt.values, func(t *testing.T) {
			out, code, _ := runEval(t, "--slo", "testdata/slo.yaml", "--values", tt.values, "--previous", "testdata/previous.json", "-o", "json")
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			// Decoded into plain maps so the field names themselves are checked.
			var got struct {
				Result     string  `json:"result"`
				Score      float64 `json:"score"`
				Objectives []map[string]any
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got.Result != tt.result || got.Score != tt.score || len(got.Objectives) != len(tt.statuses) {
				t.Fatalf("got %+v, want %s %v", got, tt.result, tt.score)
			}
			for i, o := range got.Objectives {
				for _, key := range []string{"sli", "value", "status", "score"} {
					if _, ok := o[key]; !ok {
						t.Errorf("objective %d lacks %q: %v", i, key, o)
					}
				}
				if o["status"] != tt.statuses[i] {
					t.Errorf("objective %d status %v, want %s", i, o["status"], tt.statuses[i])
				}
			}
		})
	}
}

func TestEvalText(t *testing.T) {
	out, code, _ := runEval(t, "--slo", "testdata/slo.yaml", "--values", "testdata/warning.json", "--previous", "testdata/previous.json")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{"result: warning  score: 75.00%", "<=+10% (528) ✗, <600 (600)", "error_rate (key)", "cpu_usage"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestEvalWithoutPreviousResults(t *testing.T) {
	// 540 would be a warning after 480, but with nothing to compare with <=+10% holds.
	out, code, _ := runEval(t, "--slo", "testdata/slo.yaml", "--values", "testdata/warning.json", "-o", "json")
	if code != 0 || !strings.Contains(out, `"result": "pass"`) || !strings.Contains(out, `"criteria": "<=+10%"`) {
		t.Fatalf("exit code %d:\n%s", code, out)
	}
}

func TestEvalErrorsExit2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing --slo", []string{"--values", "testdata/pass.json"}, "--slo is required"},
		{"missing --values", []string{"--slo", "testdata/slo.yaml"}, "--values is required"},
		{"bad output", []string{"--slo", "testdata/slo.yaml", "--values", "testdata/pass.json", "-o", "yaml"}, `--output "yaml"`},
		{"unknown flag", []string{"--sloo", "x"}, "unknown flag"},
		{"unknown key in the SLO file", []string{"--slo", "testdata/bad.yaml", "--values", "testdata/pass.json"}, "testdata/bad.yaml: parsing the SLO file: yaml: unmarshal errors:\n  line 1: field threshold not found"},
		{"values not JSON", []string{"--slo", "testdata/slo.yaml", "--values", "testdata/slo.yaml"}, "testdata/slo.yaml: invalid character"},
		{"missing file", []string{"--slo", "testdata/none.yaml", "--values", "testdata/pass.json"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, err := runEval(t, tt.args...)
			if code != 2 || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("exit code %d, error %v; want 2 and %q", code, err, tt.want)
			}
		})
	}
}
