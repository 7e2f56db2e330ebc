// Package main is hello, Ferry's example service: it answers /info with its version and commit,
// /health for probes and /metrics for Prometheus, and can be told to fail a fraction of
// requests or to answer slowly, so tests can make a bad version on purpose.
//
// Knobs (environment): PORT (8080), HELLO_ERROR_RATE (0..1, share of / and /info answered
// with 500), HELLO_LATENCY (a Go duration added to each / and /info request).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Set at link time: -ldflags "-X main.version=1.2.3 -X main.commit=abc".
var (
	version = "0.0.0"
	commit  = "unknown"
)

type knobs struct {
	errorRate float64
	latency   time.Duration
}

func knobsFromEnv() (knobs, error) {
	var k knobs
	if v := os.Getenv("HELLO_ERROR_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return k, fmt.Errorf("HELLO_ERROR_RATE=%q: want a number from 0 to 1", v)
		}
		k.errorRate = f
	}
	if v := os.Getenv("HELLO_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return k, fmt.Errorf("HELLO_LATENCY=%q: want a duration such as 150ms", v)
		}
		k.latency = d
	}
	return k, nil
}

func main() {
	k, err := knobsFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	reg := prometheus.NewRegistry()
	srv := &http.Server{Addr: ":" + port, Handler: newHandler(k, reg, rand.Float64), ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("hello %s (%s) listening on :%s, error rate %.2f, latency %s", version, commit, port, k.errorRate, k.latency)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// newHandler wires the routes; roll returns a number in [0,1) to decide failures.
func newHandler(k knobs, reg *prometheus.Registry, roll func() float64) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hello_requests_total", Help: "Requests served, by path and status code.",
	}, []string{"path", "code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "hello_request_duration_seconds", Help: "Request latency, by path and status code.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
	}, []string{"path", "code"})
	reg.MustRegister(requests, latency)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	app := func(path string, body func(http.ResponseWriter)) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			start := time.Now()
			time.Sleep(k.latency)
			code := http.StatusOK
			if roll() < k.errorRate {
				code = http.StatusInternalServerError
				http.Error(w, "injected failure", code)
			} else {
				body(w)
			}
			c := strconv.Itoa(code)
			requests.WithLabelValues(path, c).Inc()
			latency.WithLabelValues(path, c).Observe(time.Since(start).Seconds())
		}
	}
	mux.HandleFunc("GET /info", app("/info", func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"app": "hello", "version": version, "commit": commit})
	}))
	mux.HandleFunc("GET /{$}", app("/", func(w http.ResponseWriter) {
		fmt.Fprintf(w, "hello from version %s\n", version)
	}))
	return mux
}
