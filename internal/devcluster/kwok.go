package devcluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Simulated nodes carry this annotation (kwok manages exactly these), the type=kwok
// label, and a NoSchedule taint, so real workloads never land on them by accident.
const (
	kwokAnnotation = "kwok.x-k8s.io/node"
	kwokLabel      = "type"
	kwokNodePrefix = "kwok-node-"
)

// ensureKwok starts kwok and creates the simulated nodes when --kwok-nodes asks for them.
func (c Config) ensureKwok(ctx context.Context) error {
	if c.KwokNodes == 0 {
		return nil
	}
	p := process{name: procKwok, bin: c.cache().Bin("kwok"), args: []string{
		"--kubeconfig=" + c.kubeconfig("kwok"),
		"--config=" + c.cache().KwokStages(),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokAnnotation + "=fake",
		"--cidr=" + c.KwokCIDR.String(),
		"--node-ip=" + c.KwokCIDR.Addr().Next().String(),
		"--node-lease-duration-seconds=40",
		"--server-address=127.0.0.1:10247",
	}}
	if _, err := c.start(p); err != nil {
		return err
	}
	if err := c.createKwokNodes(ctx); err != nil {
		return err
	}
	return c.waitFor(procKwok, 120*time.Second, func() error { return c.kwokNodesReady(c.KwokNodes) })
}

func (c Config) createKwokNodes(ctx context.Context) error {
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	big := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("512Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	for i := range c.KwokNodes {
		name := fmt.Sprintf("%s%d", kwokNodePrefix, i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{kwokAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
				Labels:      map[string]string{kwokLabel: "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
			},
			Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: kwokAnnotation, Value: "fake", Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{Allocatable: big, Capacity: big},
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating simulated node %s: %w", name, err)
		}
	}
	return nil
}

// kwokNodesReady fails until at least want simulated nodes report Ready.
func (c Config) kwokNodesReady(want int) error {
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: kwokLabel + "=kwok"})
	if err != nil {
		return err
	}
	ready := 0
	for _, n := range nodes.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if ready < want {
		return fmt.Errorf("%d of %d simulated nodes ready", ready, want)
	}
	return nil
}
