//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"ferry.dev/ferry/internal/imagebuild"
	"ferry.dev/ferry/internal/kubeapply"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

const rbacNS = "e2e-rbac"

var rbacManifest = `
apiVersion: v1
kind: Namespace
metadata: {name: e2e-rbac}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: e2e-rbac}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: nobody, namespace: e2e-rbac}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: e2e-rbac}
rules:
- {apiGroups: [""], resources: [pods], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader-reads-pods, namespace: e2e-rbac}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
- {kind: ServiceAccount, name: reader, namespace: e2e-rbac}
`

// testServiceAccountRBAC runs a pod per ServiceAccount that lists pods through the
// kubernetes Service by its DNS name: the one RBAC allows gets 200, the other 403.
func (e *clusterEnv) testServiceAccountRBAC(t *testing.T) {
	ctx := context.Background()
	ap, err := kubeapply.New(e.rc, "e2e")
	must(t, err)
	must(t, ap.ApplyManifest(ctx, []byte(rbacManifest)))
	img, err := imagebuild.Build(ctx, imagebuild.Options{Dir: e.repo, Package: "./test/e2e/apiprobe", Ref: e.cfg.RegistryAddr + "/e2e/apiprobe:1", Insecure: true})
	must(t, err)

	for sa, want := range map[string]string{"reader": "status=200", "nobody": "status=403"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "probe-" + sa, Namespace: rbacNS},
			Spec: corev1.PodSpec{
				ServiceAccountName: sa,
				RestartPolicy:      corev1.RestartPolicyNever,
				Containers:         []corev1.Container{{Name: "probe", Image: img.DigestRef()}},
			},
		}
		_, err := e.cs.CoreV1().Pods(rbacNS).Create(ctx, pod, metav1.CreateOptions{})
		must(t, err)
		out := podOutput(t, e.cs, rbacNS, pod.Name, 2*time.Minute)
		if strings.TrimSpace(out) != want {
			t.Errorf("ServiceAccount %s: pod printed %q, want %q", sa, out, want)
		}
	}
}

// podOutput waits for a pod to finish and returns its log, fetched from the kubelet
// through the API server.
func podOutput(t *testing.T, cs kubernetes.Interface, ns, name string, timeout time.Duration) string {
	t.Helper()
	ctx := context.Background()
	e2ekit.Eventually(t, timeout, "pod "+name+" finishes", func() error {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded, corev1.PodFailed:
			return nil
		}
		return fmt.Errorf("phase %s", p.Status.Phase)
	})
	b, err := cs.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
	must(t, err)
	return string(b)
}

// testMintedUsers mints kubeconfigs for a user inside a group and one outside it; a
// ClusterRole bound to the group lets only the first list pods.
func (e *clusterEnv) testMintedUsers(t *testing.T) {
	ctx := context.Background()
	_, err := e.cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-approvers-view"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "e2e-approvers"}},
	}, metav1.CreateOptions{})
	must(t, err)
	dir := t.TempDir()
	users := map[string][]string{"alice": {"e2e-approvers"}, "bob": {"e2e-others"}}
	for user, groups := range users {
		path := filepath.Join(dir, user+".kubeconfig")
		must(t, e.cfg.MintKubeconfig(user, groups, path))
		rc, err := clientcmd.BuildConfigFromFlags("", path)
		must(t, err)
		cs := kubernetes.NewForConfigOrDie(rc)
		e2ekit.Eventually(t, 10*time.Second, user+" sees RBAC's answer", func() error {
			_, err := cs.CoreV1().Pods(helloNS).List(ctx, metav1.ListOptions{})
			switch {
			case user == "alice" && err == nil:
				return nil
			case user == "bob" && apierrors.IsForbidden(err):
				if !strings.Contains(err.Error(), `User "bob"`) {
					return fmt.Errorf("403 does not name the user: %w", err)
				}
				return nil
			case err == nil:
				return errors.New("allowed, want forbidden")
			}
			return err
		})
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("address %q: %v", s, err)
	}
	return a
}
