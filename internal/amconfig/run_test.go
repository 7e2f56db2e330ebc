package amconfig

import (
	"context"
	"encoding/base64"
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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

// TestRunFollowsConfigsAndSecrets: the config file follows AlertmanagerConfig objects
// and the Secret their Slack URL is in, and Alertmanager is asked to reload after each
// change. The reload receiver stands in for Alertmanager's, which the dev cluster's
// end-to-end test exercises for real.
func TestRunFollowsConfigsAndSecrets(t *testing.T) {
	var reloads atomic.Int32
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/-/reload" {
			reloads.Add(1)
		}
	}))
	defer am.Close()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		Resource: "AlertmanagerConfigList", secrets: "SecretList",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	file := filepath.Join(t.TempDir(), "alertmanager", "alertmanager.yml")
	done := make(chan error, 1)
	go func() { done <- Run(ctx, dyn, Options{File: file, Global: global, AlertmanagerURL: am.URL}) }()

	waitFor(t, "the config with no routes", func() error {
		return fileHas(file, `receiver: "null"`)
	})
	if _, err := dyn.Resource(Resource).Namespace("shop").Create(ctx, shopConfig("shop"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Without its Secret the object is left out; the Secret brings it in.
	time.Sleep(500 * time.Millisecond)
	if err := fileHas(file, "shop/shop/slack"); err == nil {
		t.Fatal("the object is in the config before its Secret exists")
	}
	before := reloads.Load()
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "ferry-alerts", "namespace": "shop"},
		"data":     map[string]any{"slack-webhook-url": base64.StdEncoding.EncodeToString([]byte("http://127.0.0.1:9/hooks/shop"))},
	}}
	if _, err := dyn.Resource(secrets).Namespace("shop").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the object's route and receivers, and a reload", func() error {
		if err := fileHas(file, `namespace="shop"`, "api_url: http://127.0.0.1:9/hooks/shop", "to: oncall@shop.test, sre@shop.test"); err != nil {
			return err
		}
		if reloads.Load() == before {
			return fmt.Errorf("no reload yet")
		}
		return nil
	})
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the file holding Slack URLs is readable by others: %v %v", fi.Mode(), err)
	}
	before = reloads.Load()
	if err := dyn.Resource(Resource).Namespace("shop").Delete(ctx, "shop", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the route gone and another reload", func() error {
		if err := fileHas(file, "shop/shop"); err == nil || reloads.Load() == before {
			return fmt.Errorf("route still there or no reload (%d)", reloads.Load())
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunRefusesABadSmarthost(t *testing.T) {
	dyn := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	err := Run(context.Background(), dyn, Options{File: filepath.Join(t.TempDir(), "am.yml"), Global: Global{SMTPSmarthost: "localhost", SMTPFrom: "a@b"}})
	if err == nil || !strings.Contains(err.Error(), "not host:port") {
		t.Fatalf("err = %v", err)
	}
}

func fileHas(file string, wants ...string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	for _, w := range wants {
		if !strings.Contains(string(b), w) {
			return fmt.Errorf("no %q in:\n%s", w, b)
		}
	}
	return nil
}

func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if last = check(); last == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, last)
}
