package devcluster

import (
	"context"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"ferry.dev/ferry/internal/install"
)

// Up brings the cluster up, starting only what is not running yet, so it is idempotent.
// It returns once the node is Ready, CoreDNS and Prometheus report ready, and the
// default ServiceAccount exists (pods can be created).
func Up(ctx context.Context, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := requireRoot(); err != nil {
		return err
	}
	start := time.Now()
	if err := c.clearStale(); err != nil {
		return err
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"checking ports", func(context.Context) error { return c.checkPortsFree() }},
		{"checking Debian packages", func(context.Context) error { return c.ensurePackages() }},
		{"checking cached binaries", func(context.Context) error { return c.cache().Ensure() }},
		{"routing the Service and simulated pod CIDRs locally; bridge " + c.Bridge, func(context.Context) error { return c.setupNetwork() }},
		{"keeping pod traffic on the machine", func(context.Context) error { return c.guardEgress() }},
		{"certificates and kubeconfigs", func(context.Context) error { return c.ensurePKI() }},
		{"etcd", func(context.Context) error { return c.startEtcd() }},
		{"kube-apiserver", func(context.Context) error { return c.startAPIServer() }},
		{"registry", func(context.Context) error { return c.startRegistry() }},
		{"pause image", c.pushPause},
		{"containerd", func(context.Context) error { return c.startContainerd() }},
		{"kube-controller-manager", func(context.Context) error { return c.startControllerManager() }},
		{"kube-scheduler", func(context.Context) error { return c.startScheduler() }},
		{"kubelet", func(context.Context) error { return c.startKubelet() }},
		{"kube-proxy", func(context.Context) error { return c.startKubeProxy() }},
		{"cluster roles and the kube-dns Service", c.applyBootstrap},
		{"Ferry's custom resources", c.installCRDs},
		{"Prometheus operator CRDs (PodMonitor, PrometheusRule, AlertmanagerConfig)", c.installMonitoringCRDs},
		{"CoreDNS", func(context.Context) error { return c.startCoreDNS() }},
		{"Prometheus pod targets", func(context.Context) error { return c.startPodTargets() }},
		{"kube-state-metrics (stand-in)", func(context.Context) error { return c.startKubeStateMetrics() }},
		{"Prometheus rule files", func(context.Context) error { return c.startRuleFiles() }},
		{"Alertmanager config (AlertmanagerConfig objects)", func(context.Context) error { return c.startAlertmanagerConfig() }},
		{"Alertmanager", func(context.Context) error { return c.startAlertmanager() }},
		{"Prometheus", func(context.Context) error { return c.startPrometheus() }},
		{"Gateway API and the dev Gateway", c.installGateway},
		{"Traefik (the Gateway's proxy)", func(context.Context) error { return c.startTraefik() }},
		{"default service account", c.waitDefaultServiceAccount},
		{"simulated nodes", c.ensureKwok},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := time.Now()
		c.logf("- %s", s.name)
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("dev up: %s: %w", s.name, err)
		}
		if d := time.Since(t); d > time.Second {
			c.logf("  (%s)", d.Round(100*time.Millisecond))
		}
	}
	if err := os.WriteFile(c.envFile(), []byte(c.Env()), 0o644); err != nil {
		return err
	}
	c.logf("cluster up in %s; kubeconfig: %s", time.Since(start).Round(100*time.Millisecond), c.AdminKubeconfig())
	return nil
}

func (c Config) envFile() string { return c.StateDir + "/env" }

// Env is the shell environment that points tools at the cluster.
func (c Config) Env() string {
	return fmt.Sprintf("export KUBECONFIG=%s\nexport FERRY_REGISTRY=%s\nexport FERRY_PROMETHEUS=http://%s\nexport FERRY_ALERTMANAGER=http://%s\nexport FERRY_GATEWAY=http://%s\n",
		c.AdminKubeconfig(), c.RegistryAddr, c.PrometheusAddr, c.AlertmanagerAddr, c.GatewayAddr)
}

// clearStale removes what a cluster left behind when its processes died without `dev
// down` (a reboot, a killed session): stale mounts, rules and pid files would otherwise
// trip the new cluster.
func (c Config) clearStale() error {
	if _, err := os.Stat(c.StateDir); err != nil {
		return nil
	}
	for _, name := range allProcs {
		if _, ok := c.running(name); ok {
			return nil
		}
	}
	c.logf("- clearing a previous cluster that is no longer running")
	return Down(c)
}

// installCRDs puts Ferry's own API into the cluster, as `ferry install` does.
func (c Config) installCRDs(ctx context.Context) error {
	rc, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig())
	if err != nil {
		return err
	}
	_, err = install.CRDs(ctx, rc, time.Minute)
	return err
}
