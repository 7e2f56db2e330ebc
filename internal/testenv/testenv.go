// Package testenv starts a real kube-apiserver and etcd for integration tests, from the
// binaries the dev cluster builds into its cache (`ferry dev build` or `make integration`
// builds them first).
package testenv

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"ferry.dev/ferry/internal/kubebin"
)

// ServiceCIDR is the API server's Service range, the same as the dev cluster's.
const ServiceCIDR = "10.96.0.0/16"

// Start runs an API server for the test and stops it when the test ends, with the
// CustomResourceDefinitions in crdPaths (files or directories) installed. A missing
// binary fails the test: integration tests never pass by not running.
func Start(t testing.TB, crdPaths ...string) *rest.Config {
	t.Helper()
	return StartEnv(t, crdPaths...).Config
}

// Env is a running API server, as its admin and able to mint users.
type Env struct {
	// Config is the admin's.
	Config *rest.Config
	env    *envtest.Environment
}

// User returns a config for a user in the given groups, authenticated by the API server
// with a client certificate.
func (e *Env) User(t testing.TB, name string, groups ...string) *rest.Config {
	t.Helper()
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		t.Fatalf("adding user %s: %v", name, err)
	}
	return u.Config()
}

// StartEnv is Start, keeping the environment for minting users.
func StartEnv(t testing.TB, crdPaths ...string) *Env {
	t.Helper()
	cache := kubebin.Cache{Dir: kubebin.DefaultDir()}
	for env, bin := range map[string]string{
		"TEST_ASSET_KUBE_APISERVER": cache.Bin("kube-apiserver"),
		"TEST_ASSET_ETCD":           cache.Bin("etcd"),
	} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s is missing (%v); run `ferry dev build` or `make integration`", bin, err)
		}
		t.Setenv(env, bin)
	}
	env := &envtest.Environment{CRDDirectoryPaths: crdPaths, ErrorIfCRDPathMissing: len(crdPaths) > 0}
	api := env.ControlPlane.GetAPIServer().Configure()
	api.Set("service-cluster-ip-range", ServiceCIDR)
	api.Set("authorization-mode", "RBAC")
	rc, err := env.Start()
	if err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	return &Env{Config: rc, env: env}
}

// ModuleDir downloads a Go module through the module proxy (or finds it in the module
// cache) and returns its directory; tests install CRDs from the projects' own modules.
func ModuleDir(t testing.TB, moduleAtVersion string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", moduleAtVersion).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", moduleAtVersion, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %s %v", moduleAtVersion, m.Error, err)
	}
	return m.Dir
}

// Grant gives the groups a cluster role with the rules, named name.
func (e *Env) Grant(t testing.TB, name string, rules []rbacv1.PolicyRule, groups ...string) {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(e.Config)
	ctx := context.Background()
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var subjects []rbacv1.Subject
	for _, g := range groups {
		subjects = append(subjects, rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: g})
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   subjects,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// ApproverRules are what a person needs to approve with `ferry approve`.
var ApproverRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"ferry.dev"}, Resources: []string{"applications", "promotions"}, Verbs: []string{"get", "list"}},
	{APIGroups: []string{"ferry.dev"}, Resources: []string{"approvaldecisions"}, Verbs: []string{"create"}},
}

// RollbackRules are what a person needs to roll a stage back with `ferry rollback`.
var RollbackRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"ferry.dev"}, Resources: []string{"applications", "promotions", "releases"}, Verbs: []string{"get", "list"}},
	{APIGroups: []string{"ferry.dev"}, Resources: []string{"promotions"}, Verbs: []string{"create"}},
}
