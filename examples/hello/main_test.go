package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestInfoReportsVersion(t *testing.T) {
	version, commit = "1.4.0", "abc123"
	h := newHandler(knobs{}, prometheus.NewRegistry(), func() float64 { return 0.5 })
	rec := get(t, h, "/info")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["version"] != "1.4.0" || got["commit"] != "abc123" {
		t.Fatalf("got %v", got)
	}
}

func TestErrorRateAndMetrics(t *testing.T) {
	// Rolls alternate below and above the 0.5 rate: every other request fails.
	rolls := []float64{0.1, 0.9, 0.2, 0.8}
	i := 0
	h := newHandler(knobs{errorRate: 0.5}, prometheus.NewRegistry(), func() float64 { r := rolls[i%len(rolls)]; i++; return r })
	var codes []int
	for range 4 {
		codes = append(codes, get(t, h, "/").Code)
	}
	want := []int{500, 200, 500, 200}
	for j := range want {
		if codes[j] != want[j] {
			t.Fatalf("codes %v, want %v", codes, want)
		}
	}
	body := get(t, h, "/metrics").Body.String()
	for _, line := range []string{
		`hello_requests_total{code="200",path="/"} 2`,
		`hello_requests_total{code="500",path="/"} 2`,
		`hello_request_duration_seconds_count{code="500",path="/"} 2`,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("metrics lack %q", line)
		}
	}
	if get(t, h, "/health").Code != http.StatusOK {
		t.Error("health not ok")
	}
}

func TestLatencyKnob(t *testing.T) {
	h := newHandler(knobs{latency: 60 * time.Millisecond}, prometheus.NewRegistry(), func() float64 { return 1 })
	start := time.Now()
	get(t, h, "/")
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("answered in %s, before the configured latency", d)
	}
}

func TestKnobsRejectBadValues(t *testing.T) {
	t.Setenv("HELLO_ERROR_RATE", "1.5")
	if _, err := knobsFromEnv(); err == nil || !strings.Contains(err.Error(), "HELLO_ERROR_RATE") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("HELLO_ERROR_RATE", "0.25")
	t.Setenv("HELLO_LATENCY", "soon")
	if _, err := knobsFromEnv(); err == nil || !strings.Contains(err.Error(), "HELLO_LATENCY") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("HELLO_LATENCY", "150ms")
	k, err := knobsFromEnv()
	if err != nil || k.errorRate != 0.25 || k.latency != 150*time.Millisecond {
		t.Fatalf("got %+v, %v", k, err)
	}
}
