//go:build integration

package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"ferry.dev/ferry/internal/dashboard"
)

// TestScriptsPureParts runs the page's pure functions in the browser, case by case: how
// durations read, which colour a phase gets, and how the judge's verdicts become the
// canary charts' series.
func TestScriptsPureParts(t *testing.T) {
	srv := httptest.NewServer(dashboard.Handler())
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv.URL)
	b.do("opening the page", chromedp.Navigate(srv.URL+"/ui/"))

	for _, tc := range []struct{ from, to, want string }{
		{"2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z", "0s"},
		{"2026-11-30T10:00:00Z", "2026-11-30T10:00:59Z", "59s"},
		{"2026-11-30T10:00:00Z", "2026-11-30T10:01:30Z", "1m 30s"},
		{"2026-11-30T10:00:00Z", "2026-11-30T13:05:00Z", "3h 5m"},
		{"2026-11-28T08:00:00Z", "2026-11-30T10:00:00Z", "2d 2h"},
		{"2026-11-30T10:00:00Z", "2026-11-30T09:00:00Z", ""},
		{"", "2026-11-30T09:00:00Z", ""},
	} {
		got := eval[string](b, fmt.Sprintf(`import("/ui/dom.js").then((m) => m.duration(%q, %q))`, tc.from, tc.to))
		if got != tc.want {
			t.Errorf("duration(%s, %s) = %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}

	for phase, want := range map[string]string{
		"Succeeded": "ok", "pass": "ok", "True": "ok", "Failed": "bad", "fail": "bad", "RollingBack": "bad",
		"WaitingApproval": "wait", "inconclusive": "wait", "warning": "wait", "Running": "run", "Pending": "run",
		"Superseded": "idle", "": "idle",
	} {
		if got := eval[string](b, fmt.Sprintf(`import("/ui/dom.js").then((m) => m.phaseClass(%q))`, phase)); got != want {
			t.Errorf("phaseClass(%q) = %q, want %q", phase, got, want)
		}
	}

	// Verdicts out of time order, from one cluster then from two: each metric's points
	// come in the order measured, and the cluster names a series only when there are
	// several.
	judge := func(name, canary string) map[string]any {
		return map[string]any{"name": name, "result": "pass", "canaryMedian": canary, "baselineMedian": "1"}
	}
	verdict := func(at, cluster string, judges ...map[string]any) map[string]any {
		return map[string]any{"step": "canary-1", "template": "t", "cluster": cluster, "measurement": 1, "at": at, "judge": judges}
	}
	for _, tc := range []struct {
		name     string
		analyses []map[string]any
		want     string
	}{
		{"no judge", []map[string]any{{"step": "analysis", "template": "slo", "cluster": "a", "at": "2026-11-30T10:00:00Z"}}, `[]`},
		{"one cluster", []map[string]any{
			verdict("2026-11-30T10:02:00Z", "a", judge("latency", "3"), judge("errors", "0.3")),
			verdict("2026-11-30T10:01:00Z", "a", judge("latency", "2")),
			verdict("2026-11-30T10:00:00Z", "a", judge("latency", "1"), judge("errors", "0.1")),
		}, `[{"cluster":"","name":"latency","points":["1","2","3"]},{"cluster":"","name":"errors","points":["0.1","0.3"]}]`},
		{"two clusters", []map[string]any{
			verdict("2026-11-30T10:01:00Z", "b", judge("latency", "5")),
			verdict("2026-11-30T10:00:00Z", "a", judge("latency", "1")),
			verdict("2026-11-30T10:02:00Z", "a", judge("latency", "2")),
		}, `[{"cluster":"a","name":"latency","points":["1","2"]},{"cluster":"b","name":"latency","points":["5"]}]`},
	} {
		in, err := json.Marshal(tc.analyses)
		must(t, err)
		got := eval[string](b, fmt.Sprintf(`import("/ui/canary.js").then((m) => JSON.stringify(m.judgeMetrics(%s)
			.map((g) => ({cluster: g.cluster, name: g.name, points: g.points.map((p) => p.canaryMedian)}))))`, in))
		if got != tc.want {
			t.Errorf("%s: judgeMetrics gives %s, want %s", tc.name, got, tc.want)
		}
	}
	b.noErrors()
}
