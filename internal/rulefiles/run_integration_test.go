//go:build integration

package rulefiles

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"ferry.dev/ferry/internal/testenv"
)

// TestRunFollowsPrometheusRules watches a real API server with the operator's CRD: a
// rule created is written and Prometheus is asked to reload; a rule deleted loses its
// file and Prometheus is asked again. The reload receiver stands in for Prometheus's
// lifecycle API, which the dev cluster's end-to-end test exercises for real.
func TestRunFollowsPrometheusRules(t *testing.T) {
	op := testenv.ModuleDir(t, "github.com/prometheus-operator/prometheus-operator@v0.85.0")
	rc := testenv.Start(t, filepath.Join(op, "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"))
	var reloads atomic.Int32
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/-/reload" {
			reloads.Add(1)
		}
	}))
	defer prom.Close()
	dyn := dynamic.NewForConfigOrDie(rc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := filepath.Join(t.TempDir(), "rules")
	done := make(chan error, 1)
	go func() { done <- Run(ctx, dyn, Options{Dir: dir, PrometheusURL: prom.URL}) }()

	file := filepath.Join(dir, FileName("default", "hello"))
	rule := promRule()
	rule.SetNamespace("default")
	if _, err := dyn.Resource(Resource).Namespace("default").Create(ctx, rule, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rule file and a reload", func() error {
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "alert: HelloCrashLooping") || reloads.Load() < 1 {
			return fmt.Errorf("%d reloads, file:\n%s", reloads.Load(), b)
		}
		return nil
	})
	before := reloads.Load()
	if err := dyn.Resource(Resource).Namespace("default").Delete(ctx, "hello", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the file removed and another reload", func() error {
		if _, err := os.Stat(file); err == nil || reloads.Load() == before {
			return fmt.Errorf("file still there or no reload (%d)", reloads.Load())
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if last = check(); last == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, last)
}
