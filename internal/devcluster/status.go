package devcluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"text/tabwriter"
	"time"
)

// health returns the readiness check of a component.
func (c Config) health(name string) func() error {
	switch name {
	case procEtcd:
		return func() error { return httpOK("http://127.0.0.1:2381/health", nil) }
	case procAPIServer:
		return func() error { return c.apiReady(context.Background()) }
	case procRegistry:
		return func() error { return httpOK("http://"+c.RegistryAddr+"/v2/", nil) }
	case procContainerd:
		return func() error {
			conn, err := net.DialTimeout("unix", c.containerdSocket(), time.Second)
			if err != nil {
				return err
			}
			return conn.Close()
		}
	case procKubelet:
		return func() error { return c.nodeReady(c.NodeName) }
	case procCM:
		return func() error { return httpOK("https://127.0.0.1:10257/healthz", insecureLocal()) }
	case procScheduler:
		return func() error { return httpOK("https://127.0.0.1:10259/healthz", insecureLocal()) }
	case procProxy:
		return func() error { return httpOK("http://127.0.0.1:10256/healthz", nil) }
	case procCoreDNS:
		return func() error { return httpOK("http://127.0.0.1:8181/ready", nil) }
	case procPrometheus:
		return func() error { return httpOK("http://"+c.PrometheusAddr+"/-/ready", nil) }
	case procPodTargets:
		return func() error {
			_, err := os.Stat(c.podTargetsFile())
			return err
		}
	case procKubeState:
		return func() error { return httpOK("http://"+c.KubeStateMetricsAddr+"/healthz", nil) }
	case procRuleFiles:
		return func() error {
			_, err := os.Stat(c.RuleFilesDir())
			return err
		}
	case procAlertmanagerConfig:
		return func() error {
			_, err := os.Stat(c.AlertmanagerConfigFile())
			return err
		}
	case procAlertmanager:
		return func() error { return httpOK("http://"+c.AlertmanagerAddr+"/-/ready", nil) }
	case procKwok:
		return func() error { return c.kwokNodesReady(1) }
	case procTraefik:
		return func() error { return httpOK("http://"+c.traefikAdminAddr()+"/ping", nil) }
	}
	return func() error { return fmt.Errorf("no health check for %s", name) }
}

// allProcs lists every component in start order.
var allProcs = []string{procEtcd, procAPIServer, procRegistry, procContainerd, procCM, procScheduler,
	procKubelet, procProxy, procCoreDNS, procPodTargets, procKubeState, procRuleFiles, procAlertmanagerConfig, procAlertmanager, procPrometheus, procTraefik, procKwok}

// ComponentStatus is one line of `ferry dev status`.
type ComponentStatus struct {
	Name    string
	PID     int
	Running bool
	Healthy bool
	Detail  string
	// RSS is the resident memory of the process and its descendants, in bytes.
	RSS int64
}

// Status reports each component's process and health, and whether the cluster's
// address ranges stay on the machine.
func Status(c Config) ([]ComponentStatus, error) {
	var out []ComponentStatus
	for _, name := range allProcs {
		s := ComponentStatus{Name: name}
		if pid, ok := c.running(name); ok {
			s.PID, s.Running = pid, true
			s.RSS = treeRSS(pid)
			if err := c.health(name)(); err != nil {
				s.Detail = "unhealthy: " + err.Error()
			} else {
				s.Healthy = true
				s.Detail = "ok"
			}
		} else {
			s.Detail = "not running"
		}
		out = append(out, s)
	}
	if shims := pidsWithArg(c.containerdSocket()); len(shims) > 0 {
		var mem int64
		for _, pid := range shims {
			mem += treeRSS(pid)
		}
		out = append(out, ComponentStatus{Name: "pods", Healthy: true, Detail: fmt.Sprintf("%d containerd shims and their containers", len(shims)), RSS: mem})
	}
	return out, c.CheckRoutes()
}

// PrintStatus writes the status as a table and says whether all is well.
func PrintStatus(w io.Writer, st []ComponentStatus, routesErr error) (healthy bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tPID\tMEMORY\tSTATE")
	healthy = true
	var total int64
	for _, s := range st {
		pid, mem := "-", "-"
		if s.Running {
			pid = fmt.Sprint(s.PID)
		}
		if s.RSS > 0 {
			mem = mib(s.RSS)
			total += s.RSS
		}
		if s.Name == procKwok && !s.Running {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, pid, mem, "not running (only with --kwok-nodes)")
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, pid, mem, s.Detail)
		healthy = healthy && s.Healthy
	}
	fmt.Fprintf(tw, "total\t\t%s\t\n", mib(total))
	tw.Flush()
	if routesErr != nil {
		fmt.Fprintf(w, "routes: %v\n", routesErr)
		return false
	}
	fmt.Fprintln(w, "routes: Service, pod and simulated pod addresses stay on this machine")
	return healthy
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
