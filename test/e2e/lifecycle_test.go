//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"ferry.dev/ferry/internal/devcluster"
)

// testFerryAPI checks that dev up installed Ferry's custom resources.
func (e *clusterEnv) testFerryAPI(t *testing.T) {
	list, err := e.cs.Discovery().ServerResourcesForGroupVersion("ferry.dev/v1alpha1")
	if err != nil {
		t.Fatalf("ferry.dev/v1alpha1 not served: %v", err)
	}
	served := map[string]bool{}
	for _, r := range list.APIResources {
		served[r.Kind] = true
	}
	for _, kind := range []string{"Application", "Release", "Promotion", "Cluster", "ApprovalDecision", "AnalysisTemplate"} {
		if !served[kind] {
			t.Errorf("%s is not served", kind)
		}
	}
}

func (e *clusterEnv) testStatus(t *testing.T) {
	st, routesErr := devcluster.Status(e.cfg)
	if routesErr != nil {
		t.Error(routesErr)
	}
	for _, s := range st {
		if !s.Healthy {
			t.Errorf("%s: %s", s.Name, s.Detail)
		}
	}
}

func (e *clusterEnv) testIdempotentUp(t *testing.T) {
	before := pids(t, e.cfg)
	if err := devcluster.Up(context.Background(), e.cfg); err != nil {
		t.Fatal(err)
	}
	after := pids(t, e.cfg)
	for name, pid := range before {
		if after[name] != pid {
			t.Errorf("%s: pid %d before, %d after a second up", name, pid, after[name])
		}
	}
}

// pids maps each running component to its pid.
func pids(t *testing.T, cfg devcluster.Config) map[string]int {
	t.Helper()
	st, _ := devcluster.Status(cfg)
	m := map[string]int{}
	for _, s := range st {
		if s.Running {
			m[s.Name] = s.PID
		}
	}
	return m
}

// testDown takes the cluster down and checks the machine: no process of ours, no pod
// process, no bridge, no local route, no iptables chain, no mount, no state.
func (e *clusterEnv) testDown(t *testing.T) {
	procs := pids(t, e.cfg)
	if len(procs) == 0 {
		t.Fatal("no running components before down")
	}
	podProcs := procsWithArg(e.cfg.StateDir)
	if err := devcluster.Down(e.cfg); err != nil {
		t.Fatal(err)
	}
	for name, pid := range procs {
		if alive(pid) {
			t.Errorf("%s (pid %d) still alive", name, pid)
		}
	}
	for _, pid := range podProcs {
		if alive(pid) {
			t.Errorf("process %d that used the state directory still alive", pid)
		}
	}
	if left := procsWithArg(e.cfg.StateDir); len(left) > 0 {
		t.Errorf("processes still name %s: %v", e.cfg.StateDir, left)
	}
	if err := exec.Command("ip", "link", "show", e.cfg.Bridge).Run(); err == nil {
		t.Errorf("bridge %s still exists", e.cfg.Bridge)
	}
	routes, _ := exec.Command("ip", "route", "show", "table", "local").CombinedOutput()
	for _, cidr := range []string{e.cfg.ServiceCIDR.String(), e.cfg.KwokCIDR.String()} {
		if strings.Contains(string(routes), cidr) {
			t.Errorf("local route for %s remains", cidr)
		}
	}
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		out, err := exec.Command(tool).CombinedOutput()
		if err != nil {
			continue
		}
		for _, chain := range []string{"KUBE-", "CNI-", "FERRY-DEV-"} {
			if strings.Contains(string(out), chain) {
				t.Errorf("%s still lists %s chains", tool, chain)
			}
		}
	}
	if after := cniResults(); len(after) != len(e.cniBefore) {
		t.Errorf("CNI results cache held %v before up and %v after down", e.cniBefore, after)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), e.cfg.StateDir) {
		t.Errorf("mounts under %s remain", e.cfg.StateDir)
	}
	if _, err := os.Stat(e.cfg.StateDir); !os.IsNotExist(err) {
		t.Errorf("state directory %s remains (%v)", e.cfg.StateDir, err)
	}
}

func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(b), ") Z ")
}

// procsWithArg lists processes whose command line mentions s.
func procsWithArg(s string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid := atoi(e.Name())
		if pid <= 0 || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, pid)
		}
	}
	return out
}
