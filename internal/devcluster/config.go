package devcluster

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"

	"ferry.dev/ferry/internal/kubebin"
)

// Config is where the cluster lives and which addresses it uses.
type Config struct {
	// StateDir holds the cluster's certificates, configs, data, logs and pid files.
	StateDir string
	// CacheDir holds the binaries built once and reused (kept across dev down).
	CacheDir string
	// Bridge is the Linux bridge the pods attach to; NodeIP is its address.
	Bridge string
	// NodeIP is the node's InternalIP, the API server's advertised address and the
	// pods' gateway.
	NodeIP netip.Addr
	// PodCIDR is the real node's pod range, on the bridge.
	PodCIDR netip.Prefix
	// ServiceCIDR is the ClusterIP range, routed to the local table.
	ServiceCIDR netip.Prefix
	// KwokCIDR is the range of simulated pods, routed to the local table.
	KwokCIDR netip.Prefix
	// NodeName is the real node's name.
	NodeName string
	// RegistryAddr and PrometheusAddr are loopback listen addresses.
	RegistryAddr   string
	PrometheusAddr string
	// KubeStateMetricsAddr is where the kube-state-metrics stand-in serves its series
	// for Prometheus (loopback).
	KubeStateMetricsAddr string
	// AlertmanagerAddr is where Alertmanager listens (loopback).
	AlertmanagerAddr string
	// AlertSMTPAddr is the mail relay Alertmanager sends alert mail through, plain SMTP
	// on loopback (nothing leaves the machine); AlertSMTPFrom is the mail's sender.
	AlertSMTPAddr string
	AlertSMTPFrom string
	// GatewayAddr is where Traefik serves the dev Gateway's listener (loopback); its
	// /ping answers on the next port.
	GatewayAddr string
	// KwokNodes is how many simulated nodes to add (0: no kwok).
	KwokNodes int
	// FerryBin is the ferry binary that runs the cluster's own helper processes.
	FerryBin string
	// Out receives progress lines.
	Out io.Writer
}

// DefaultConfig is the configuration `ferry dev up` uses unless flags say otherwise.
func DefaultConfig() Config {
	state := os.Getenv("FERRY_DEV_DIR")
	if state == "" {
		state = "/var/lib/ferry/dev"
	}
	ferry, err := os.Executable()
	if err != nil {
		ferry = "ferry"
	}
	return Config{
		FerryBin:             ferry,
		StateDir:             state,
		CacheDir:             kubebin.DefaultDir(),
		Bridge:               "ferry0",
		NodeIP:               netip.MustParseAddr("10.244.0.1"),
		PodCIDR:              netip.MustParsePrefix("10.244.0.0/24"),
		ServiceCIDR:          netip.MustParsePrefix("10.96.0.0/16"),
		KwokCIDR:             netip.MustParsePrefix("10.245.0.0/16"),
		NodeName:             "ferry-dev",
		RegistryAddr:         "127.0.0.1:5000",
		PrometheusAddr:       "127.0.0.1:9090",
		KubeStateMetricsAddr: "127.0.0.1:9091",
		GatewayAddr:          "127.0.0.1:8088",
		AlertmanagerAddr:     "127.0.0.1:9093",
		AlertSMTPAddr:        "127.0.0.1:2525",
		AlertSMTPFrom:        "alertmanager@ferry-dev.localhost",
		Out:                  io.Discard,
	}
}

// Validate checks the configuration once, before anything starts.
func (c Config) Validate() error {
	var errs []error
	if !filepath.IsAbs(c.StateDir) || !filepath.IsAbs(c.CacheDir) {
		errs = append(errs, errors.New("state and cache directories must be absolute paths"))
	}
	if !c.PodCIDR.Contains(c.NodeIP) {
		errs = append(errs, fmt.Errorf("node IP %s is not inside the pod CIDR %s", c.NodeIP, c.PodCIDR))
	}
	for _, p := range []netip.Prefix{c.ServiceCIDR, c.KwokCIDR} {
		if p.Overlaps(c.PodCIDR) {
			errs = append(errs, fmt.Errorf("CIDR %s overlaps the pod CIDR %s", p, c.PodCIDR))
		}
		if !p.Addr().IsPrivate() {
			errs = append(errs, fmt.Errorf("CIDR %s is not a private range", p))
		}
	}
	if c.KwokNodes < 0 {
		errs = append(errs, errors.New("--kwok-nodes must not be negative"))
	}
	if ap, err := netip.ParseAddrPort(c.KubeStateMetricsAddr); err != nil || !ap.Addr().IsLoopback() {
		errs = append(errs, fmt.Errorf("the kube-state-metrics address %q is not a loopback address with a port", c.KubeStateMetricsAddr))
	}
	for what, addr := range map[string]string{"Alertmanager": c.AlertmanagerAddr, "alert mail relay": c.AlertSMTPAddr} {
		if ap, err := netip.ParseAddrPort(addr); err != nil || !ap.Addr().IsLoopback() {
			errs = append(errs, fmt.Errorf("the %s address %q is not a loopback address with a port", what, addr))
		}
	}
	if c.AlertSMTPFrom == "" {
		errs = append(errs, errors.New("the sender of alert mail is required"))
	}
	if ap, err := netip.ParseAddrPort(c.GatewayAddr); err != nil || !ap.Addr().IsLoopback() || ap.Port() == 0 || ap.Port() == 65535 {
		errs = append(errs, fmt.Errorf("the Gateway address %q is not a loopback address with a port below 65535", c.GatewayAddr))
	}
	return errors.Join(errs...)
}

// Paths inside the state directory.
func (c Config) pkiDir() string        { return filepath.Join(c.StateDir, "pki") }
func (c Config) kubeconfigDir() string { return filepath.Join(c.StateDir, "kubeconfig") }
func (c Config) logDir() string        { return filepath.Join(c.StateDir, "logs") }
func (c Config) runDir() string        { return filepath.Join(c.StateDir, "run") }
func (c Config) dataDir(name string) string {
	return filepath.Join(c.StateDir, "data", name)
}
func (c Config) confDir(name string) string {
	return filepath.Join(c.StateDir, "conf", name)
}

// cache is where the built binaries live.
func (c Config) cache() kubebin.Cache { return kubebin.Cache{Dir: c.CacheDir, Log: c.logf} }

// AdminKubeconfig is the path of the cluster-admin kubeconfig.
func (c Config) AdminKubeconfig() string { return filepath.Join(c.kubeconfigDir(), "admin.kubeconfig") }

// APIServerURL is where the API server listens, on the bridge address.
func (c Config) APIServerURL() string { return fmt.Sprintf("https://%s:6443", c.NodeIP) }

// serviceIP returns the n-th address of the Service CIDR (1: kubernetes, 10: DNS).
func (c Config) serviceIP(n int) netip.Addr {
	a := c.ServiceCIDR.Addr()
	for range n {
		a = a.Next()
	}
	return a
}

// DNSServiceIP is the ClusterIP of the kube-dns Service.
func (c Config) DNSServiceIP() netip.Addr { return c.serviceIP(10) }

func (c Config) logf(format string, args ...any) {
	fmt.Fprintf(c.Out, format+"\n", args...)
}
