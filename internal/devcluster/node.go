package devcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pauseImage is the sandbox image, built by ferry and pushed to the local registry.
func (c Config) pauseImage() string { return c.RegistryAddr + "/ferry/pause:1" }

func (c Config) containerdSocket() string { return filepath.Join(c.runDir(), "containerd.sock") }

var containerdTmpl = template.Must(template.New("containerd").Parse(`version = 2
root = "{{.Root}}"
state = "{{.State}}"

[grpc]
  address = "{{.Socket}}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{{.Opt}}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{{.Pause}}"
  # Writing oom_score_adj is denied on this kind of machine; without this runc fails.
  restrict_oom_score_adj = true
  # Network namespaces live under our state directory, so dev down finds exactly ours.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "{{.RuncRoot}}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{{.CNIConf}}"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."{{.Registry}}"]
    endpoint = ["http://{{.Registry}}"]
`))

func (c Config) startContainerd() error {
	conf := c.confDir("containerd")
	data := map[string]string{
		"Root": c.dataDir("containerd"), "State": filepath.Join(c.runDir(), "containerd"),
		"Socket": c.containerdSocket(), "Opt": c.dataDir("containerd-opt"), "Pause": c.pauseImage(),
		"RuncRoot": filepath.Join(c.runDir(), "runc"), "CNIConf": c.confDir("cni"), "Registry": c.RegistryAddr,
	}
	if err := writeTemplate(filepath.Join(conf, "config.toml"), containerdTmpl, data); err != nil {
		return err
	}
	if err := c.writeCNIConfig(); err != nil {
		return err
	}
	p := process{name: procContainerd, bin: "containerd", args: []string{"--config", filepath.Join(conf, "config.toml")}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procContainerd, 30*time.Second, c.health(procContainerd))
}

var cniTmpl = template.Must(template.New("cni").Parse(`{
  "cniVersion": "1.0.0",
  "name": "ferry-dev",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "{{.Bridge}}",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "{{.PodCIDR}}", "gateway": "{{.NodeIP}}"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "{{.IPAMDir}}"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`))

func (c Config) writeCNIConfig() error {
	return writeTemplate(filepath.Join(c.confDir("cni"), "10-ferry-dev.conflist"), cniTmpl, map[string]string{
		"Bridge": c.Bridge, "PodCIDR": c.PodCIDR.String(), "NodeIP": c.NodeIP.String(), "IPAMDir": c.dataDir("cni-ipam"),
	})
}

var kubeletTmpl = template.Must(template.New("kubelet").Parse(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {{.NodeIP}}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: {{.ServingCert}}
tlsPrivateKeyFile: {{.ServingKey}}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: {{.CA}}
authorization:
  mode: Webhook
clusterDomain: cluster.local
clusterDNS: [{{.DNS}}]
resolvConf: {{.ResolvConf}}
containerRuntimeEndpoint: unix://{{.Socket}}
podLogsDir: {{.PodLogs}}
staticPodPath: ""
# This machine is cgroup v1 (hybrid) and PID 1 is not systemd.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
localStorageCapacityIsolation: false
# A disposable node: no eviction (an empty map, not the defaults).
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 110
`))

func (c Config) startKubelet() error {
	conf := c.confDir("kubelet")
	resolv := filepath.Join(conf, "resolv.conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return err
	}
	// Pods resolve through the cluster's DNS only; nothing is forwarded off the machine.
	if err := os.WriteFile(resolv, []byte("nameserver "+c.DNSServiceIP().String()+"\n"), 0o644); err != nil {
		return err
	}
	data := map[string]string{
		"NodeIP": c.NodeIP.String(), "ServingCert": c.pkiFile("kubelet-serving.crt"), "ServingKey": c.pkiFile("kubelet-serving.key"),
		"CA": c.pkiFile("ca.crt"), "DNS": c.DNSServiceIP().String(), "ResolvConf": resolv,
		"Socket": c.containerdSocket(), "PodLogs": c.dataDir("pod-logs"),
	}
	if err := writeTemplate(filepath.Join(conf, "config.yaml"), kubeletTmpl, data); err != nil {
		return err
	}
	p := process{name: procKubelet, bin: c.cache().Bin("kubelet"), args: []string{
		"--config=" + filepath.Join(conf, "config.yaml"),
		"--kubeconfig=" + c.kubeconfig("kubelet"),
		"--hostname-override=" + c.NodeName,
		"--node-ip=" + c.NodeIP.String(),
		"--root-dir=" + c.dataDir("kubelet"),
		"--node-labels=" + realNodeLabel + "=true",
	}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procKubelet, 90*time.Second, c.health(procKubelet))
}

// realNodeLabel marks the node that runs real pods; simulated nodes carry type=kwok and
// a taint, so nothing lands on them unless it asks to.
const realNodeLabel = "ferry.dev/real-node"

func (c Config) nodeReady(name string) error {
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			if cond.Status == corev1.ConditionTrue {
				return nil
			}
			return fmt.Errorf("node %s not ready: %s", name, cond.Message)
		}
	}
	return fmt.Errorf("node %s has no Ready condition yet", name)
}

func (c Config) startKubeProxy() error {
	p := process{name: procProxy, bin: c.cache().Bin("kube-proxy"), args: c.kubeProxyArgs()}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procProxy, 60*time.Second, c.health(procProxy))
}

func (c Config) kubeProxyArgs() []string {
	return []string{
		"--kubeconfig=" + c.kubeconfig("kube-proxy"),
		"--proxy-mode=iptables",
		"--cluster-cidr=" + c.PodCIDR.String(),
		"--hostname-override=" + c.NodeName,
		"--metrics-bind-address=127.0.0.1:10249",
		"--healthz-bind-address=127.0.0.1:10256",
		// NodePorts open on the bridge address only, never on the outward interface.
		"--nodeport-addresses=" + c.NodeIP.String() + "/32",
		// Leave the machine's conntrack sysctls alone; they are not writable here.
		"--conntrack-max-per-core=0",
		"--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0",
	}
}

func writeTemplate(path string, t *template.Template, data any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := t.Execute(f, data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
