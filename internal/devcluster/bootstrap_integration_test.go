//go:build integration

package devcluster

import (
	"context"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"ferry.dev/ferry/internal/kubeapply"
	"ferry.dev/ferry/internal/testenv"
)

// TestBootstrapObjects applies the dev cluster's bootstrap objects to a real API server
// and asks its RBAC authorizer what the host-side components may do.
func TestBootstrapObjects(t *testing.T) {
	rc := testenv.Start(t)
	ctx := context.Background()
	c := DefaultConfig()
	manifest, err := c.Bootstrap()
	if err != nil {
		t.Fatal(err)
	}
	ap, err := kubeapply.New(rc, "ferry-dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := ap.ApplyManifest(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	svc, err := cs.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP != c.DNSServiceIP().String() {
		t.Errorf("kube-dns ClusterIP %s, want %s", svc.Spec.ClusterIP, c.DNSServiceIP())
	}
	slice, err := cs.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns-host", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := slice.Endpoints[0].Addresses[0]; got != c.NodeIP.String() {
		t.Errorf("kube-dns endpoint %s, want the node address %s", got, c.NodeIP)
	}

	tests := []struct {
		user, verb, group, resource string
		allowed                     bool
	}{
		{"ferry:prometheus", "list", "", "pods", true},
		{"ferry:prometheus", "watch", "", "pods", true},
		{"ferry:prometheus", "delete", "", "pods", false},
		{"ferry:prometheus", "get", "", "secrets", false},
		{"ferry:prometheus", "list", "monitoring.coreos.com", "prometheusrules", true},
		{"ferry:alertmanager", "list", "monitoring.coreos.com", "alertmanagerconfigs", true},
		{"ferry:alertmanager", "get", "", "secrets", true},
		{"ferry:alertmanager", "list", "", "pods", false},
		{"ferry:coredns", "watch", "discovery.k8s.io", "endpointslices", true},
		{"ferry:coredns", "list", "", "namespaces", true},
		{"ferry:coredns", "create", "", "services", false},
		{"ferry:kwok", "update", "", "nodes", true},
		{"someone-else", "list", "", "pods", false},
	}
	for _, tt := range tests {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User:               tt.user,
			ResourceAttributes: &authzv1.ResourceAttributes{Verb: tt.verb, Group: tt.group, Resource: tt.resource},
		}}
		got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed != tt.allowed {
			t.Errorf("%s %s %s: allowed=%v, want %v (%s)", tt.user, tt.verb, tt.resource, got.Status.Allowed, tt.allowed, got.Status.Reason)
		}
	}
}
