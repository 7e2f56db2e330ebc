//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"ferry.dev/ferry/internal/demo"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

const (
	helloNS      = "e2e-hello"
	helloVersion = "2.3.4"
)

func (e *clusterEnv) testHello(t *testing.T) {
	ctx := context.Background()
	d, err := demo.Deploy(ctx, e.rc, demo.Hello{RepoDir: e.repo, Registry: e.cfg.RegistryAddr, Version: helloVersion, Namespace: helloNS, Replicas: 2}, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := e.cs.CoreV1().Pods(helloNS).List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
	must(t, err)
	for _, p := range pods.Items {
		if p.Spec.NodeName != e.cfg.NodeName {
			t.Errorf("pod %s runs on %s, want the real node %s", p.Name, p.Spec.NodeName, e.cfg.NodeName)
		}
		if !e.cfg.PodCIDR.Contains(mustAddr(t, p.Status.PodIP)) {
			t.Errorf("pod %s has IP %s outside %s", p.Name, p.Status.PodIP, e.cfg.PodCIDR)
		}
	}
	info, err := demo.GetInfo(ctx, d.URL, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != helloVersion || info.App != "hello" {
		t.Fatalf("/info = %+v, want version %s", info, helloVersion)
	}
	e.hello = d.URL
}

func (e *clusterEnv) testNodePort(t *testing.T) {
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello-nodeport", Namespace: helloNS},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": "hello"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	created, err := e.cs.CoreV1().Services(helloNS).Create(ctx, svc, metav1.CreateOptions{})
	must(t, err)
	u := fmt.Sprintf("http://%s:%d/info", e.cfg.NodeIP, created.Spec.Ports[0].NodePort)
	info, err := demo.GetInfo(ctx, u, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != helloVersion {
		t.Fatalf("%s answered version %s", u, info.Version)
	}
}

// testPrometheus sends requests to hello and waits for Prometheus (found by pod
// annotations through the API) to have scraped the pod's request counter.
func (e *clusterEnv) testPrometheus(t *testing.T) {
	if e.hello == "" {
		t.Skip("hello did not deploy; see the failure above")
	}
	ctx := context.Background()
	for range 5 {
		if _, err := demo.GetInfo(ctx, e.hello, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	q := fmt.Sprintf(`sum(hello_requests_total{namespace=%q,path="/info",code="200"})`, helloNS)
	e2ekit.Eventually(t, 90*time.Second, "Prometheus has hello_requests_total", func() error {
		v, err := promQuery(e.cfg.PrometheusAddr, q)
		if err != nil {
			return err
		}
		if v < 5 {
			return fmt.Errorf("%s = %v, want at least 5", q, v)
		}
		return nil
	})
}

// promQuery runs an instant query through Prometheus's HTTP API and returns the single
// value it yields.
func promQuery(addr, q string) (float64, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Errorf("prometheus answered %q: %w", body, err)
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("prometheus answered %s", body)
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}
