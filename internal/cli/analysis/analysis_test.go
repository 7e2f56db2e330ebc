package analysis

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"

	"ferry.dev/ferry/internal/analysis"
	"ferry.dev/ferry/internal/cli/iostreams"
)

// runCmd runs `analysis run` in-process and returns its stdout, exit code and error.
func runCmd(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand(iostreams.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	cmd.SetArgs(append([]string{"run"}, args...))
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

// stoppedPrometheus is the URL of a loopback port nothing listens on any more.
func stoppedPrometheus(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

func TestUnreachablePrometheusIsInconclusive(t *testing.T) {
	out, code, err := runCmd(t, "--template", "testdata/shop.yaml", "--app", "shop", "--stage", "prod",
		"--prometheus", stoppedPrometheus(t))
	if code != 1 || !errors.Is(err, ErrVerdict) {
		t.Errorf("exit code %d (%v), want 1 with ErrVerdict", code, err)
	}
	for _, want := range []string{"result: inconclusive (no SLI returned a value)", "error_rate (key)", "null",
		"SLIs without a value:", "error_rate: ", "latency_p95: ", "connection refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestJSONReportAndPrometheusFromEnvironment(t *testing.T) {
	t.Setenv(PrometheusEnv, stoppedPrometheus(t))
	out, code, _ := runCmd(t, "--template", "testdata/shop.yaml", "--app", "shop", "--stage", "prod", "-n", "team-b", "-o", "json")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	var got struct {
		Result  string                  `json:"result"`
		Values  map[string]any          `json:"values"`
		Errors  map[string]string       `json:"errors"`
		Queries map[string]string       `json:"queries"`
		SLO     struct{ Result string } `json:"slo"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Result != "inconclusive" || len(got.Errors) != 2 || got.Values["error_rate"] != nil {
		t.Errorf("got %+v", got)
	}
	// -n is the app's namespace; the template's interval fills $interval.
	want := `sum(rate(http_requests_total{app="shop",namespace="team-b",code=~"5.."}[2m]))`
	if !strings.HasPrefix(got.Queries["error_rate"], want) {
		t.Errorf("error_rate query %q, want it to start with %q", got.Queries["error_rate"], want)
	}
}

func TestErrorsExitTwo(t *testing.T) {
	prom := stoppedPrometheus(t)
	t.Setenv(PrometheusEnv, "")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no template", []string{"--app", "a", "--stage", "s", "--prometheus", prom}, "--template is required"},
		{"no app", []string{"--template", "testdata/shop.yaml", "--stage", "s", "--prometheus", prom}, "--app is required"},
		{"no stage", []string{"--template", "testdata/shop.yaml", "--app", "a", "--prometheus", prom}, "--stage is required"},
		{"no prometheus", []string{"--template", "testdata/shop.yaml", "--app", "a", "--stage", "s"}, "set FERRY_PROMETHEUS"},
		{"prometheus not a URL", []string{"--template", "testdata/shop.yaml", "--app", "a", "--stage", "s", "--prometheus", "localhost:9090"}, "want an http:// or https:// URL"},
		{"bad output", []string{"--template", "testdata/shop.yaml", "--app", "a", "--stage", "s", "--prometheus", prom, "-o", "yaml"}, `--output "yaml"`},
		{"unknown flag", []string{"--templates", "x"}, "unknown flag: --templates"},
		{"missing file", []string{"--template", "testdata/none.yaml", "--app", "a", "--stage", "s", "--prometheus", prom}, "testdata/none.yaml"},
		{"wrong kind", []string{"--template", "testdata/wrong-kind.yaml", "--app", "a", "--stage", "s", "--prometheus", prom}, `kind "Cluster"`},
		{"objective without a query", []string{"--template", "testdata/unknown-sli.yaml", "--app", "a", "--stage", "s", "--prometheus", prom},
			`template testdata/unknown-sli.yaml: spec.slo: objectives[0].sli "latency" is not in spec.slis`},
		{"unknown variable", []string{"--template", "testdata/unknown-variable.yaml", "--app", "a", "--stage", "s", "--prometheus", prom},
			`SLI "error_rate": unknown variable $cluster`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code, err := runCmd(t, tt.args...)
			if code != 2 || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("exit code %d, error %v; want 2 and an error containing %q", code, err, tt.wantErr)
			}
			if errors.Is(err, ErrVerdict) || out != "" {
				t.Fatalf("an error is not a verdict: %v, output %q", err, out)
			}
		})
	}
}

func TestVerdictExitCodes(t *testing.T) {
	tests := []struct {
		result string
		code   int
	}{{"pass", 0}, {"warning", 1}, {"inconclusive", 1}, {"fail", 2}}
	for _, tt := range tests {
		err := verdictError(analysis.Result(tt.result))
		code := 0
		var exit *ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		if code != tt.code || (code != 0 && !errors.Is(err, ErrVerdict)) {
			t.Errorf("%s: exit code %d (%v), want %d", tt.result, code, err, tt.code)
		}
	}
}
