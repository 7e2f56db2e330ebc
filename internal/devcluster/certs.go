package devcluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"ferry.dev/ferry/internal/pki"
)

// identity is a client certificate's user and groups, and the kubeconfig it goes into.
type identity struct {
	file   string
	user   string
	groups []string
}

// identities lists the component and user kubeconfigs the cluster needs. Components use
// the names the built-in RBAC roles expect; coredns, prometheus, alertmanager (the
// process that writes Alertmanager's config, which reads Secrets) and kwok get roles of
// their own from the bootstrap objects.
func (c Config) identities() []identity {
	return []identity{
		{file: "admin", user: "ferry-admin", groups: []string{"system:masters"}},
		{file: "controller-manager", user: "system:kube-controller-manager"},
		{file: "scheduler", user: "system:kube-scheduler"},
		{file: "kubelet", user: "system:node:" + c.NodeName, groups: []string{"system:nodes"}},
		{file: "kube-proxy", user: "system:kube-proxy"},
		{file: "coredns", user: "ferry:coredns"},
		{file: "prometheus", user: "ferry:prometheus"},
		{file: "alertmanager", user: "ferry:alertmanager"},
		{file: "kwok", user: "ferry:kwok"},
	}
}

// ensurePKI creates the CA, the serving and client certificates, the service account
// key pair and every component's kubeconfig, unless they already exist.
func (c Config) ensurePKI() error {
	dir := c.pkiDir()
	if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err == nil {
		ca, err := pki.LoadCA(dir)
		if err != nil {
			return err
		}
		return c.ensureKubeconfigs(ca) // identities added since the PKI was made
	}
	ca, err := pki.NewCA("ferry-dev-ca")
	if err != nil {
		return err
	}
	node := net.IP(c.NodeIP.AsSlice())
	kubeSvc := net.IP(c.serviceIP(1).AsSlice())
	issue := []struct {
		name string
		req  pki.Request
	}{
		{"etcd-server", pki.Request{CommonName: "etcd", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}, Server: true, Client: true}},
		{"apiserver-etcd-client", pki.Request{CommonName: "kube-apiserver-etcd-client", Client: true}},
		{"apiserver", pki.Request{
			CommonName: "kube-apiserver", Server: true,
			IPs: []net.IP{node, kubeSvc, net.IPv4(127, 0, 0, 1)},
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
				"kubernetes.default.svc.cluster.local"},
		}},
		{"apiserver-kubelet-client", pki.Request{CommonName: "kube-apiserver-kubelet-client", Groups: []string{"system:masters"}, Client: true}},
		{"kubelet-serving", pki.Request{CommonName: "system:node:" + c.NodeName, IPs: []net.IP{node}, DNSNames: []string{c.NodeName}, Server: true}},
	}
	for _, it := range issue {
		crt, key, err := ca.Issue(it.req)
		if err != nil {
			return err
		}
		if err := pki.WritePair(dir, it.name, crt, key); err != nil {
			return err
		}
	}
	priv, pub, err := pki.NewRSAKeyPair()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), priv, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.pub"), pub, 0o644); err != nil {
		return err
	}
	for _, id := range c.identities() {
		if err := c.writeKubeconfig(ca, id, filepath.Join(c.kubeconfigDir(), id.file+".kubeconfig")); err != nil {
			return err
		}
	}
	// The CA is written last: its presence marks the whole set as complete.
	return ca.Save(dir)
}

// ensureKubeconfigs writes the kubeconfig of each identity that has none.
func (c Config) ensureKubeconfigs(ca *pki.CA) error {
	for _, id := range c.identities() {
		path := filepath.Join(c.kubeconfigDir(), id.file+".kubeconfig")
		if _, err := os.Stat(path); err == nil {
			continue
		}
		if err := c.writeKubeconfig(ca, id, path); err != nil {
			return err
		}
	}
	return nil
}

// MintKubeconfig writes a kubeconfig for a user in the given groups, signed by the
// cluster's CA, so tests and demos can act as people with different rights.
func (c Config) MintKubeconfig(user string, groups []string, path string) error {
	if user == "" {
		return errors.New("a user name is required")
	}
	ca, err := pki.LoadCA(c.pkiDir())
	if err != nil {
		return fmt.Errorf("is the dev cluster up? %w", err)
	}
	return c.writeKubeconfig(ca, identity{user: user, groups: groups}, path)
}

func (c Config) writeKubeconfig(ca *pki.CA, id identity, path string) error {
	crt, key, err := ca.Issue(pki.Request{CommonName: id.user, Groups: id.groups, Client: true})
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["ferry-dev"] = &clientcmdapi.Cluster{Server: c.APIServerURL(), CertificateAuthorityData: ca.PEM}
	cfg.AuthInfos[id.user] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: key}
	cfg.Contexts["ferry-dev"] = &clientcmdapi.Context{Cluster: "ferry-dev", AuthInfo: id.user}
	cfg.CurrentContext = "ferry-dev"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*cfg, path)
}
