//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ferry.dev/ferry/internal/demo"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

// testKwok schedules a Deployment onto the simulated nodes: its pods become ready with
// addresses from the simulated range, never on the real node, and the nodes keep their
// leases fresh.
func (e *clusterEnv) testKwok(t *testing.T) {
	ctx := context.Background()
	nodes, err := e.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "type=kwok"})
	must(t, err)
	if len(nodes.Items) != e.cfg.KwokNodes {
		t.Fatalf("%d simulated nodes, want %d", len(nodes.Items), e.cfg.KwokNodes)
	}
	for _, n := range nodes.Items {
		if len(n.Spec.Taints) == 0 || n.Spec.Taints[0].Key != "kwok.x-k8s.io/node" {
			t.Errorf("node %s is not tainted: %v", n.Name, n.Spec.Taints)
		}
	}
	ns := "e2e-kwok"
	_, err = e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	must(t, err)
	replicas := int32(10)
	labels := map[string]string{"app": "simulated"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "simulated", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"type": "kwok"},
					Tolerations:  []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Containers:   []corev1.Container{{Name: "app", Image: "simulated.invalid/never-pulled:1"}},
				},
			},
		},
	}
	_, err = e.cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)
	must(t, demo.WaitAvailable(ctx, e.cs, ns, "simulated", 90*time.Second))
	pods, err := e.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	must(t, err)
	for _, p := range pods.Items {
		if p.Spec.NodeName == e.cfg.NodeName {
			t.Errorf("simulated pod %s landed on the real node", p.Name)
		}
		if !e.cfg.KwokCIDR.Contains(mustAddr(t, p.Status.PodIP)) {
			t.Errorf("simulated pod %s has IP %s outside %s", p.Name, p.Status.PodIP, e.cfg.KwokCIDR)
		}
	}
	// The lease of a simulated node is renewed: its renew time moves forward.
	lease := nodes.Items[0].Name
	first, err := e.cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, lease, metav1.GetOptions{})
	must(t, err)
	e2ekit.Eventually(t, 60*time.Second, "lease of "+lease+" renewed", func() error {
		l, err := e.cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, lease, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.RenewTime == nil || first.Spec.RenewTime == nil || !l.Spec.RenewTime.After(first.Spec.RenewTime.Time) {
			return fmt.Errorf("renew time still %v", l.Spec.RenewTime)
		}
		return nil
	})
}
