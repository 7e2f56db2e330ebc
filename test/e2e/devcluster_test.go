//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"ferry.dev/ferry/internal/devcluster"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

// TestDevCluster brings the cluster up, runs every check against it in order, and ends
// by taking it down and proving nothing is left behind.
func TestDevCluster(t *testing.T) {
	cfg := devcluster.DefaultConfig()
	cfg.Out = e2ekit.LogWriter{T: t}
	cfg.KwokNodes = 3
	cfg.FerryBin = e2ekit.BuildFerry(t)
	ctx := context.Background()
	downDone := false
	t.Cleanup(func() {
		if !downDone {
			e2ekit.SaveLogs(t, cfg, "devcluster-logs")
			_ = devcluster.Down(cfg)
		}
	})

	cniBefore := cniResults()
	start := time.Now()
	if err := devcluster.Up(ctx, cfg); err != nil {
		t.Fatalf("dev up: %v", err)
	}
	t.Logf("dev up took %s", time.Since(start).Round(time.Second))
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.AdminKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	env := &clusterEnv{cfg: cfg, rc: rc, cs: cs, repo: e2ekit.RepoRoot(t), cniBefore: cniBefore}

	t.Run("addresses stay on the machine", env.testRoutes)
	t.Run("hello answers through its ClusterIP", env.testHello)
	t.Run("NodePort answers on the bridge address", env.testNodePort)
	t.Run("Prometheus scraped the pod", env.testPrometheus)
	t.Run("ServiceAccount tokens obey RBAC", env.testServiceAccountRBAC)
	t.Run("minted users obey RBAC", env.testMintedUsers)
	t.Run("simulated nodes run simulated pods", env.testKwok)
	t.Run("Ferry's API is installed", env.testFerryAPI)
	t.Run("a release travels three stages with approvals, and a failing one rolls back", env.testEngine)
	t.Run("canaries are judged by the real Prometheus under load", env.testCanary)
	t.Run("a blue-green switch under load loses no request", env.testBlueGreen)
	t.Run("the Gateway routes A/B tests and canary weights under load", env.testGateway)
	t.Run("a pushed image becomes a Release and is deployed", env.testImageWatch)
	t.Run("a signed push to a git repository is built and deployed", env.testBuildFromCommit)
	t.Run("a delivery completes exactly once while the controller is killed ten times", env.testKilledController)
	t.Run("status reports healthy", env.testStatus)
	t.Run("up again changes nothing", env.testIdempotentUp)
	if t.Failed() {
		e2ekit.SaveLogs(t, cfg, "devcluster-logs")
	}
	t.Run("down leaves nothing behind", func(t *testing.T) {
		downDone = true
		env.testDown(t)
	})
}

type clusterEnv struct {
	cfg   devcluster.Config
	rc    *rest.Config
	cs    kubernetes.Interface
	repo  string
	hello string // the URL of hello's /info through its ClusterIP
	// cniBefore is what containerd's CNI cache held before up (down must restore it).
	cniBefore []string
}

// cniResults lists the CNI results cache, which lives outside the state directory.
func cniResults() []string {
	entries, _ := os.ReadDir("/var/lib/cni/results")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func (e *clusterEnv) testRoutes(t *testing.T) {
	if err := e.cfg.CheckRoutes(); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{
		e.cfg.ServiceCIDR.Addr().Next().String(): "local ",
		e.cfg.KwokCIDR.Addr().Next().String():    "local ",
		e.cfg.NodeIP.Next().String():             "dev " + e.cfg.Bridge,
	} {
		out, err := exec.Command("ip", "route", "get", addr).CombinedOutput()
		if err != nil {
			t.Fatalf("ip route get %s: %v", addr, err)
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("ip route get %s = %q, want it to contain %q", addr, out, want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { return fmt.Sprint(i) }

func atoi(s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		return -1
	}
	return n
}
