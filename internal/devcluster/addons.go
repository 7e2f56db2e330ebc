package devcluster

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"text/template"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"ferry.dev/ferry/internal/imagebuild"
	"ferry.dev/ferry/internal/kubeapply"
)

//go:embed assets
var assets embed.FS

var registryTmpl = template.Must(template.New("registry").Parse(`version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {{.Root}}
  delete:
    enabled: true
http:
  addr: {{.Addr}}
# Each push is told to ferry server at its default address, when one runs there; the
# registry keeps the notifications and retries while none does.
notifications:
  endpoints:
    - name: ferry-server
      url: {{.Notify}}
      timeout: 2s
      threshold: 3
      backoff: 1s
`))

// RegistryNotifyAddr is where the dev registry sends its notifications: `ferry server`'s
// default address on this machine.
const RegistryNotifyAddr = "127.0.0.1:8090"

func (c Config) startRegistry() error {
	conf := filepath.Join(c.confDir("registry"), "config.yml")
	if err := writeTemplate(conf, registryTmpl, map[string]string{"Root": c.dataDir("registry"), "Addr": c.RegistryAddr,
		"Notify": "http://" + RegistryNotifyAddr + "/hooks/registry"}); err != nil {
		return err
	}
	if _, err := c.start(process{name: procRegistry, bin: "docker-registry", args: []string{"serve", conf}}); err != nil {
		return err
	}
	return c.waitFor(procRegistry, 30*time.Second, c.health(procRegistry))
}

// pushPause builds the sandbox image from the embedded pause program and pushes it.
func (c Config) pushPause(ctx context.Context) error {
	src, err := c.cache().WriteModule("pause")
	if err != nil {
		return err
	}
	res, err := imagebuild.Build(ctx, imagebuild.Options{Dir: src, Package: ".", Ref: c.pauseImage(), Insecure: true})
	if err != nil {
		return fmt.Errorf("pause image: %w", err)
	}
	c.logf("  pushed %s (%s)", res.Ref, res.Digest)
	return nil
}

// Bootstrap renders the roles and the kube-dns Service every dev cluster has.
func (c Config) Bootstrap() ([]byte, error) {
	b, err := assets.ReadFile("assets/manifests/bootstrap.yaml")
	if err != nil {
		return nil, err
	}
	t, err := template.New("bootstrap").Parse(string(b))
	if err != nil {
		return nil, err
	}
	var manifest bytes.Buffer
	if err := t.Execute(&manifest, map[string]string{"DNSServiceIP": c.DNSServiceIP().String(), "NodeIP": c.NodeIP.String()}); err != nil {
		return nil, err
	}
	return manifest.Bytes(), nil
}

func (c Config) applyBootstrap(ctx context.Context) error {
	manifest, err := c.Bootstrap()
	if err != nil {
		return err
	}
	ap, err := c.adminApplier()
	if err != nil {
		return err
	}
	return ap.ApplyManifest(ctx, manifest)
}

// adminApplier applies objects as the cluster's admin; a new one reads the API's
// discovery anew.
func (c Config) adminApplier() (*kubeapply.Applier, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig())
	if err != nil {
		return nil, err
	}
	return kubeapply.New(rc, "ferry-dev")
}

var corefileTmpl = template.Must(template.New("corefile").Parse(`# Only the cluster's own zones are served; other names are refused, never forwarded.
cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    bind {{.NodeIP}}
    errors
    health 127.0.0.1:8180
    ready 127.0.0.1:8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig {{.Kubeconfig}} ferry-dev
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`))

func (c Config) startCoreDNS() error {
	conf := filepath.Join(c.confDir("coredns"), "Corefile")
	if err := writeTemplate(conf, corefileTmpl, map[string]string{"NodeIP": c.NodeIP.String(), "Kubeconfig": c.kubeconfig("coredns")}); err != nil {
		return err
	}
	if _, err := c.start(process{name: procCoreDNS, bin: c.cache().Bin("coredns"), args: []string{"-conf", conf}}); err != nil {
		return err
	}
	return c.waitFor(procCoreDNS, 30*time.Second, c.health(procCoreDNS))
}

var prometheusTmpl = template.Must(template.New("prometheus").Parse(`global:
  scrape_interval: 5s
  evaluation_interval: 5s
# The groups of every PrometheusRule object, one file each, written by the rule-files
# process, which reloads Prometheus when they change (no Prometheus operator runs here).
rule_files:
- {{.RuleFiles}}/*.yaml
# Firing alerts go to the cluster's Alertmanager, which routes them as the
# AlertmanagerConfig objects say.
alerting:
  alertmanagers:
  - static_configs:
    - targets: ["{{.Alertmanager}}"]
scrape_configs:
# Pods that ask for it with prometheus.io/scrape, port and path annotations, found through
# the Kubernetes API by the pod-targets process (Debian's Prometheus has no Kubernetes
# discovery of its own). Simulated pods are never listed: they serve nothing.
- job_name: kubernetes-pods
  file_sd_configs:
  - files: [{{.Targets}}]
    refresh_interval: 5s
# The kube-state-metrics series the alert rules read, served by a stand-in process that
# computes them from the pods and Deployments it watches. Its labels (namespace, pod...)
# name the objects, not the target, so they are kept as kube-prometheus keeps them.
- job_name: kube-state-metrics
  honor_labels: true
  static_configs:
  - targets: ["{{.KubeStateMetrics}}"]
`))

func (c Config) podTargetsFile() string {
	return filepath.Join(c.confDir("prometheus"), "targets", "pods.json")
}

// startPodTargets runs `ferry dev pod-targets`, which keeps Prometheus's target file in
// step with the annotated pods of the real node.
func (c Config) startPodTargets() error {
	if err := os.MkdirAll(filepath.Dir(c.podTargetsFile()), 0o755); err != nil {
		return err
	}
	p := process{name: procPodTargets, bin: c.FerryBin, args: []string{"dev", "pod-targets",
		"--kubeconfig=" + c.kubeconfig("prometheus"), "--node=" + c.NodeName, "--file=" + c.podTargetsFile()}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procPodTargets, 30*time.Second, c.health(procPodTargets))
}

func (c Config) startPrometheus() error {
	conf := filepath.Join(c.confDir("prometheus"), "prometheus.yml")
	if err := writeTemplate(conf, prometheusTmpl, map[string]string{
		"Targets": c.podTargetsFile(), "RuleFiles": c.RuleFilesDir(), "KubeStateMetrics": c.KubeStateMetricsAddr,
		"Alertmanager": c.AlertmanagerAddr}); err != nil {
		return err
	}
	p := process{name: procPrometheus, bin: "prometheus", args: []string{
		"--config.file=" + conf,
		"--storage.tsdb.path=" + c.dataDir("prometheus"),
		"--web.listen-address=" + c.PrometheusAddr,
		"--web.enable-lifecycle",
	}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procPrometheus, 60*time.Second, c.health(procPrometheus))
}

// waitDefaultServiceAccount waits for the controller manager to create the default
// ServiceAccount, the sign that pods can be created.
func (c Config) waitDefaultServiceAccount(ctx context.Context) error {
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	return c.waitFor(procCM, 60*time.Second, func() error {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// checkPortsFree fails if a port the cluster needs is taken by a process that is not ours.
func (c Config) checkPortsFree() error {
	ports := []struct{ proc, addr string }{
		{procEtcd, "127.0.0.1:2379"}, {procEtcd, "127.0.0.1:2380"}, {procEtcd, "127.0.0.1:2381"},
		{procAPIServer, "0.0.0.0:6443"}, {procRegistry, c.RegistryAddr}, {procPrometheus, c.PrometheusAddr},
		{procCM, "127.0.0.1:10257"}, {procScheduler, "127.0.0.1:10259"}, {procKubelet, "127.0.0.1:10248"},
		{procProxy, "127.0.0.1:10256"}, {procProxy, "127.0.0.1:10249"}, {procCoreDNS, "127.0.0.1:8181"},
		{procTraefik, c.GatewayAddr}, {procTraefik, c.traefikAdminAddr()}, {procKubeState, c.KubeStateMetricsAddr},
		{procAlertmanager, c.AlertmanagerAddr},
	}
	for _, p := range ports {
		if _, ours := c.running(p.proc); ours {
			continue
		}
		l, err := net.Listen("tcp", p.addr)
		if err != nil {
			return fmt.Errorf("port %s, needed by %s, is taken by another process (%w); stop it or run `ferry dev down`", p.addr, p.proc, err)
		}
		l.Close()
	}
	return nil
}

// requireRoot fails early with a clear message: the cluster needs bridges, routes,
// iptables and mounts.
func requireRoot() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("ferry dev needs root (it creates a bridge, routes, iptables rules and mounts); run it with sudo")
	}
	return nil
}
