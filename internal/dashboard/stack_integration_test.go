//go:build integration

package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/server"
	"ferry.dev/ferry/internal/testenv"
)

// stack is a real API server with Ferry's resources and admission policies, and
// `ferry server` in front of it on loopback, serving the dashboard and the API.
type stack struct {
	env *testenv.Env
	c   client.Client
	cs  kubernetes.Interface
	url string
	hs  *httptest.Server
	ctx context.Context
}

// viewerRules read what the dashboard shows.
var viewerRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"ferry.dev"}, Resources: []string{"applications", "promotions", "releases", "changerecords"}, Verbs: []string{"get", "list"}},
}

// The groups of the test's ServiceAccounts: a ServiceAccount's token carries the group
// system:serviceaccounts:NAMESPACE, so the namespace a person's ServiceAccount lives in
// is their group.
const (
	approvers = "system:serviceaccounts:approvers"
	viewers   = "system:serviceaccounts:viewers"
)

func startStack(t testing.TB) *stack {
	t.Helper()
	env := testenv.StartEnv(t, "../../config/crd")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := install.CRDs(ctx, env.Config, 30*time.Second); err != nil { // the admission policies
		t.Fatal(err)
	}
	c, err := kubeclient.Ferry(env.Config)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	for _, ns := range []string{"team", "approvers", "viewers"} {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		must(t, err)
	}
	env.Grant(t, "ferry-viewer", viewerRules, viewers, approvers)
	env.Grant(t, "ferry-approver", testenv.ApproverRules, approvers)
	logs := &testWriter{t: t}
	srv := &server.Server{Client: c, Local: env.Config, Log: log.New(logs, "server: ", 0)}
	must(t, srv.Start(ctx))
	hs := httptest.NewServer(srv.Handler()) // 127.0.0.1
	t.Cleanup(hs.Close)
	t.Cleanup(logs.stop) // runs first: nothing is logged once the test ends
	return &stack{env: env, c: c, cs: cs, url: hs.URL, hs: hs, ctx: ctx}
}

// runController runs Ferry's controller against the API server until the test ends,
// with the Cluster "local" (the API server itself) in ns, beside the Deployment and
// ReplicaSet controllers, and plays the kubelet in deployNS: each pod is reported ready.
func (s *stack) runController(t testing.TB, ns, deployNS string) {
	t.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, s.env.Config, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true})
	}()
	s.env.StartWorkloadControllers(t)
	go testenv.RunPods(ctx, s.cs, deployNS, nil)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
	must(t, s.c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: ns}}))
}

// token makes a ServiceAccount in ns (whose group is system:serviceaccounts:ns) and
// returns a token of it.
func (s *stack) token(t testing.TB, ns, name string) string {
	t.Helper()
	_, err := s.cs.CoreV1().ServiceAccounts(ns).Create(s.ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	must(t, err)
	tr, err := s.cs.CoreV1().ServiceAccounts(ns).CreateToken(s.ctx, name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	must(t, err)
	return tr.Status.Token
}

// call sends a request to the API with the token and returns the status and body.
func (s *stack) call(t testing.TB, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, string(b)
}

// waitAPI waits until the API answers the GET with 200 and check passes on its body:
// the server's cache follows the API server a moment behind.
func (s *stack) waitAPI(t testing.TB, path, token string, check func(string) error) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		status, body := s.call(t, http.MethodGet, path, token, "")
		if status != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", path, status, body)
		}
		return check(body)
	})
}

// waitPolicyActive waits until the API server enforces the approval admission policy:
// a decision forged in another's name, sent as a dry run, is refused.
func (s *stack) waitPolicyActive(t testing.TB) {
	t.Helper()
	c, err := kubeclient.Ferry(s.env.User(t, "mallory", approvers))
	must(t, err)
	forged := &ferryv1.ApprovalDecision{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "team"},
		Spec: ferryv1.ApprovalDecisionSpec{Promotion: "p", User: "someone-else", Group: approvers, Decision: ferryv1.DecisionApprove}}
	testenv.Eventually(t, 20*time.Second, func() error {
		err := c.Create(s.ctx, forged.DeepCopy(), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "spec.user is someone-else") {
			return nil
		}
		return fmt.Errorf("a forged decision: %w", err)
	})
}

// testWriter sends the server's log lines to the test's log until stopped.
type testWriter struct {
	t       testing.TB
	mu      sync.Mutex
	stopped bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
