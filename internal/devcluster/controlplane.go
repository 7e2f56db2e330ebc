package devcluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Names of the tracked processes, in start order.
const (
	procEtcd       = "etcd"
	procAPIServer  = "kube-apiserver"
	procRegistry   = "registry"
	procContainerd = "containerd"
	procKubelet    = "kubelet"
	procCM         = "kube-controller-manager"
	procScheduler  = "kube-scheduler"
	procProxy      = "kube-proxy"
	procCoreDNS    = "coredns"
	procPodTargets = "pod-targets"
	procPrometheus = "prometheus"
	procKwok       = "kwok"
)

func (c Config) pkiFile(name string) string { return filepath.Join(c.pkiDir(), name) }
func (c Config) kubeconfig(name string) string {
	return filepath.Join(c.kubeconfigDir(), name+".kubeconfig")
}

func (c Config) startEtcd() error {
	p := process{name: procEtcd, bin: c.cache().Bin("etcd"), args: []string{
		"--name=ferry-dev",
		"--data-dir=" + c.dataDir("etcd"),
		"--listen-client-urls=https://127.0.0.1:2379",
		"--advertise-client-urls=https://127.0.0.1:2379",
		"--listen-peer-urls=http://127.0.0.1:2380",
		"--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=ferry-dev=http://127.0.0.1:2380",
		"--listen-metrics-urls=http://127.0.0.1:2381",
		"--cert-file=" + c.pkiFile("etcd-server.crt"),
		"--key-file=" + c.pkiFile("etcd-server.key"),
		"--trusted-ca-file=" + c.pkiFile("ca.crt"),
		"--client-cert-auth=true",
		"--quota-backend-bytes=8589934592",
		"--snapshot-count=10000",
	}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procEtcd, 60*time.Second, c.health(procEtcd))
}

func (c Config) startAPIServer() error {
	p := process{name: procAPIServer, bin: c.cache().Bin("kube-apiserver"), args: []string{
		"--advertise-address=" + c.NodeIP.String(),
		"--bind-address=" + c.NodeIP.String(),
		"--secure-port=6443",
		"--etcd-servers=https://127.0.0.1:2379",
		"--etcd-cafile=" + c.pkiFile("ca.crt"),
		"--etcd-certfile=" + c.pkiFile("apiserver-etcd-client.crt"),
		"--etcd-keyfile=" + c.pkiFile("apiserver-etcd-client.key"),
		"--service-cluster-ip-range=" + c.ServiceCIDR.String(),
		"--tls-cert-file=" + c.pkiFile("apiserver.crt"),
		"--tls-private-key-file=" + c.pkiFile("apiserver.key"),
		"--client-ca-file=" + c.pkiFile("ca.crt"),
		"--kubelet-client-certificate=" + c.pkiFile("apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + c.pkiFile("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority=" + c.pkiFile("ca.crt"),
		"--kubelet-preferred-address-types=InternalIP",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + c.pkiFile("sa.pub"),
		"--service-account-signing-key-file=" + c.pkiFile("sa.key"),
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--profiling=false",
		"--event-ttl=1h",
	}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procAPIServer, 90*time.Second, c.health(procAPIServer))
}

// apiReady asks the API server's /readyz as the admin.
func (c Config) apiReady(ctx context.Context) error {
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err = cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err
}

// Clientset returns a client acting as the cluster admin.
func (c Config) Clientset() (*kubernetes.Clientset, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig())
	if err != nil {
		return nil, err
	}
	rc.Timeout = 10 * time.Second
	return kubernetes.NewForConfig(rc)
}

func (c Config) startControllerManager() error {
	kc := c.kubeconfig("controller-manager")
	p := process{name: procCM, bin: c.cache().Bin("kube-controller-manager"), args: []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--bind-address=127.0.0.1",
		"--secure-port=10257",
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + c.pkiFile("sa.key"),
		"--root-ca-file=" + c.pkiFile("ca.crt"),
		"--cluster-signing-cert-file=" + c.pkiFile("ca.crt"),
		"--cluster-signing-key-file=" + c.pkiFile("ca.key"),
		"--controllers=*",
		"--allocate-node-cidrs=false",
		"--profiling=false",
	}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procCM, 60*time.Second, c.health(procCM))
}

func (c Config) startScheduler() error {
	kc := c.kubeconfig("scheduler")
	p := process{name: procScheduler, bin: c.cache().Bin("kube-scheduler"), args: []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--bind-address=127.0.0.1",
		"--secure-port=10259",
		"--leader-elect=false",
		"--profiling=false",
	}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procScheduler, 60*time.Second, c.health(procScheduler))
}

// insecureLocal is for the health endpoints of components serving self-signed
// certificates on loopback; nothing secret crosses it.
func insecureLocal() *tls.Config { return &tls.Config{InsecureSkipVerify: true} } //nolint:gosec // loopback health probe

// httpOK gets url and fails unless it answers 200.
func httpOK(url string, tlsCfg *tls.Config) error {
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
