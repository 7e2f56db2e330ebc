//go:build integration

package analysis

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/testenv"
)

// app serves the metrics of an app in Prometheus' text format. Each scrape adds 19
// successful and 1 failed request (an error rate of 5%), and 100 latency observations: 90
// of at most 0.1s and 10 between 0.1s and 0.5s (a p95 of 0.3s).
type app struct {
	mu      sync.Mutex
	scrapes int
}

func (a *app) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	a.scrapes++
	n := a.scrapes
	a.mu.Unlock()
	labels := `app="shop",namespace="team-a"`
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE http_requests_total counter\n")
	fmt.Fprintf(w, "http_requests_total{%s,code=\"200\"} %d\n", labels, 19*n)
	fmt.Fprintf(w, "http_requests_total{%s,code=\"500\"} %d\n", labels, n)
	fmt.Fprintf(w, "# TYPE http_request_duration_seconds histogram\n")
	fmt.Fprintf(w, "http_request_duration_seconds_bucket{%s,le=\"0.1\"} %d\n", labels, 90*n)
	fmt.Fprintf(w, "http_request_duration_seconds_bucket{%s,le=\"0.5\"} %d\n", labels, 100*n)
	fmt.Fprintf(w, "http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", labels, 100*n)
	fmt.Fprintf(w, "http_request_duration_seconds_sum{%s} %g\n", labels, 12.0*float64(n))
	fmt.Fprintf(w, "http_request_duration_seconds_count{%s} %d\n", labels, 100*n)
}

// waitFor polls cond every 250ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func shopTemplate(errorRateCriterion string) *ferryv1.AnalysisTemplate {
	return &ferryv1.AnalysisTemplate{Spec: ferryv1.AnalysisTemplateSpec{
		Interval: &metav1.Duration{Duration: 10 * time.Second},
		SLIs: map[string]string{
			"error_rate": `sum(rate(http_requests_total{app="$app",namespace="$namespace",code=~"5.."}[$interval]))` +
				` / sum(rate(http_requests_total{app="$app",namespace="$namespace"}[$interval]))`,
			"latency_p95": `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{app="$app",namespace="$namespace"}[$interval])))`,
			"throughput":  `sum(rate(http_requests_total{app="$app",namespace="$namespace"}[$interval]))`,
		},
		SLO: `objectives:
  - sli: error_rate
    key_sli: true
    pass: [{criteria: ["` + errorRateCriterion + `"]}]
  - sli: latency_p95
    pass: [{criteria: ["<=0.5"]}]
    warning: [{criteria: ["<=1"]}]
  - sli: throughput
total_score:
  pass: "90%"
  warning: "75%"
`,
	}}
}

func TestAnalysisAgainstPrometheus(t *testing.T) {
	srv := httptest.NewServer(&app{})
	defer srv.Close()
	promURL, stopPrometheus := testenv.StartPrometheus(t, strings.TrimPrefix(srv.URL, "http://"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars := Vars{App: "shop", Namespace: "team-a", Stage: "prod", Version: "1.0.0"}

	// rate() needs two samples inside the 10s window: wait until the SLIs have values.
	waitFor(t, 30*time.Second, "the SLIs to have values", func() bool {
		queries, err := Render(shopTemplate("<0.1"), vars)
		if err != nil {
			t.Fatal(err)
		}
		_, errs := Query(ctx, promURL, queries, time.Now())
		return len(errs) == 0
	})

	t.Run("pass", func(t *testing.T) {
		r, err := Run(ctx, shopTemplate("<0.1"), vars, promURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Result != Pass || r.SLO.Score != 100 || len(r.Errors) != 0 {
			t.Fatalf("got %s (score %v, errors %v), want pass with 100", r.Result, r.SLO.Score, r.Errors)
		}
		assertNear(t, "error_rate", r.Values["error_rate"], 0.05)
		assertNear(t, "latency_p95", r.Values["latency_p95"], 0.3)
		if !strings.Contains(r.Queries["error_rate"], `{app="shop",namespace="team-a",code=~"5.."}[10s]`) {
			t.Errorf("query as sent: %s", r.Queries["error_rate"])
		}
	})

	t.Run("fail when the error rate is above the objective", func(t *testing.T) {
		r, err := Run(ctx, shopTemplate("<0.01"), vars, promURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Result != Fail {
			t.Fatalf("got %s (score %v), want fail", r.Result, r.SLO.Score)
		}
		if o := r.SLO.Objectives[0]; o.SLI != "error_rate" || o.Status != "fail" {
			t.Fatalf("first objective %+v, want error_rate failed", o)
		}
	})

	t.Run("a missing series fails its objective", func(t *testing.T) {
		tpl := shopTemplate("<0.1")
		tpl.Spec.SLIs["latency_p95"] = `histogram_quantile(0.95, sum by (le) (rate(no_such_metric_bucket{app="$app"}[$interval])))`
		r, err := Run(ctx, tpl, vars, promURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Result != Fail || r.Values["latency_p95"] != nil || !strings.Contains(r.Errors["latency_p95"], "no data") {
			t.Fatalf("got %s, latency %v, errors %v; want fail with no data for latency_p95", r.Result, r.Values["latency_p95"], r.Errors)
		}
	})

	t.Run("prometheus stopped gives inconclusive", func(t *testing.T) {
		stopPrometheus()
		r, err := Run(ctx, shopTemplate("<0.1"), vars, promURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Result != Inconclusive {
			t.Fatalf("got %s, want inconclusive", r.Result)
		}
		for _, sli := range []string{"error_rate", "latency_p95", "throughput"} {
			if r.Values[sli] != nil || !strings.Contains(r.Errors[sli], "connection refused") {
				t.Errorf("%s: value %v, error %q; want none and connection refused", sli, r.Values[sli], r.Errors[sli])
			}
		}
	})
}

func assertNear(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s has no value", name)
	}
	if d := *got - want; d > 1e-6 || d < -1e-6 {
		t.Errorf("%s = %v, want %v", name, *got, want)
	}
}
