package devcluster

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The dev cluster's Gateway: Traefik, a host process, implements it and sends each
// HTTPRoute's requests straight to the pods on the bridge.
const (
	procTraefik = "traefik"
	// GatewayNamespace and GatewayName name the Gateway a dev Cluster's spec.gateway
	// points at; GatewayClassName is its class, which Traefik's controller claims.
	GatewayNamespace = "ferry-gateway"
	GatewayName      = "ferry"
	GatewayClassName = "ferry-traefik"
	gatewayListener  = "http"
)

// gatewayManifest is the class and the Gateway, with one plain-HTTP listener whose port
// is the one Traefik's web entry point listens on, open to routes of every namespace.
func (c Config) gatewayManifest() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: %[3]s}
spec: {controllerName: traefik.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  gatewayClassName: %[3]s
  listeners:
  - {name: %[4]s, protocol: HTTP, port: %[5]s, allowedRoutes: {namespaces: {from: All}}}
`, GatewayNamespace, GatewayName, GatewayClassName, gatewayListener, c.gatewayPort())
}

// installGateway installs the Gateway API's CRDs (the version Traefik implements, kept
// beside its binary) and the dev Gateway.
func (c Config) installGateway(ctx context.Context) error {
	crds, err := os.ReadFile(c.cache().GatewayCRDs())
	if err != nil {
		return err
	}
	ap, err := c.adminApplier()
	if err != nil {
		return err
	}
	if err := ap.ApplyManifest(ctx, crds); err != nil {
		return fmt.Errorf("applying the Gateway API CRDs: %w", err)
	}
	gw := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway"}}
	if err := c.waitServed(gw, 30*time.Second); err != nil {
		return err
	}
	// A new applier: the one above read the API's discovery before the CRDs were served.
	if ap, err = c.adminApplier(); err != nil {
		return err
	}
	return ap.ApplyManifest(ctx, []byte(c.gatewayManifest()))
}

// startTraefik runs Traefik with its Gateway API provider, reading the cluster through
// the admin kubeconfig. It never calls home (no version check, no usage statistics),
// and applies a route change within a tenth of a second.
func (c Config) startTraefik() error {
	p := process{name: procTraefik, bin: c.cache().Bin("traefik"), env: []string{"KUBECONFIG=" + c.AdminKubeconfig()}, args: []string{
		"--global.checkNewVersion=false",
		"--global.sendAnonymousUsage=false",
		"--entryPoints.web.address=" + c.GatewayAddr,
		"--entryPoints.traefik.address=" + c.traefikAdminAddr(),
		"--ping=true",
		"--providers.kubernetesGateway=true",
		"--providers.kubernetesGateway.statusAddress.ip=" + netip.MustParseAddrPort(c.GatewayAddr).Addr().String(),
		"--providers.providersThrottleDuration=100ms",
		"--log.level=INFO",
		"--log.noColor=true",
	}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procTraefik, 60*time.Second, c.health(procTraefik))
}

// traefikAdminAddr is where Traefik answers /ping: the port after the Gateway's (Validate
// checked the address).
func (c Config) traefikAdminAddr() string {
	ap := netip.MustParseAddrPort(c.GatewayAddr)
	return netip.AddrPortFrom(ap.Addr(), ap.Port()+1).String()
}

func (c Config) gatewayPort() string {
	return strconv.Itoa(int(netip.MustParseAddrPort(c.GatewayAddr).Port()))
}
