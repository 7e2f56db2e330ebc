package kubestate

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// crashLooping is a pod as the kubelet reports one whose app container keeps exiting,
// beside a sidecar that was once killed for memory and now runs.
func crashLooping() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hello-7d9-x2", Namespace: "shop", UID: "u-1"},
		Status: corev1.PodStatus{
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady"},
			},
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", RestartCount: 9}},
			ContainerStatuses: []corev1.ContainerStatus{
				{
					Name: "app", RestartCount: 3,
					State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}},
				},
				{
					Name: "sidecar", RestartCount: 1,
					State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}},
				},
			},
		},
	}
}

func stuck() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "shop"},
		Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "SomeoneElsesReason"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded"},
		}},
	}
}

func collector(t *testing.T, pods []*corev1.Pod, deps []*appsv1.Deployment) *Collector {
	t.Helper()
	pi := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, p := range pods {
		if err := pi.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	di := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, d := range deps {
		if err := di.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	return NewCollector(corelisters.NewPodLister(pi), appslisters.NewDeploymentLister(di))
}

// TestCollectorServesKubeStateMetricsSeries checks the exposition a scrape returns,
// name for name and label for label as kube-state-metrics writes it.
func TestCollectorServesKubeStateMetricsSeries(t *testing.T) {
	c := collector(t, []*corev1.Pod{crashLooping()}, []*appsv1.Deployment{stuck()})
	want := `
# HELP kube_deployment_status_condition The current status conditions of a deployment.
# TYPE kube_deployment_status_condition gauge
kube_deployment_status_condition{condition="Available",deployment="hello",namespace="shop",reason="unknown",status="false"} 0
kube_deployment_status_condition{condition="Available",deployment="hello",namespace="shop",reason="unknown",status="true"} 1
kube_deployment_status_condition{condition="Available",deployment="hello",namespace="shop",reason="unknown",status="unknown"} 0
kube_deployment_status_condition{condition="Progressing",deployment="hello",namespace="shop",reason="ProgressDeadlineExceeded",status="false"} 1
kube_deployment_status_condition{condition="Progressing",deployment="hello",namespace="shop",reason="ProgressDeadlineExceeded",status="true"} 0
kube_deployment_status_condition{condition="Progressing",deployment="hello",namespace="shop",reason="ProgressDeadlineExceeded",status="unknown"} 0
# HELP kube_pod_container_status_last_terminated_reason Describes the last reason the container was in terminated state.
# TYPE kube_pod_container_status_last_terminated_reason gauge
kube_pod_container_status_last_terminated_reason{container="app",namespace="shop",pod="hello-7d9-x2",reason="Error",uid="u-1"} 1
kube_pod_container_status_last_terminated_reason{container="sidecar",namespace="shop",pod="hello-7d9-x2",reason="OOMKilled",uid="u-1"} 1
# HELP kube_pod_container_status_restarts_total The number of container restarts per container.
# TYPE kube_pod_container_status_restarts_total counter
kube_pod_container_status_restarts_total{container="app",namespace="shop",pod="hello-7d9-x2",uid="u-1"} 3
kube_pod_container_status_restarts_total{container="sidecar",namespace="shop",pod="hello-7d9-x2",uid="u-1"} 1
# HELP kube_pod_container_status_waiting_reason Describes the reason the container is currently in waiting state.
# TYPE kube_pod_container_status_waiting_reason gauge
kube_pod_container_status_waiting_reason{container="app",namespace="shop",pod="hello-7d9-x2",reason="CrashLoopBackOff",uid="u-1"} 1
# HELP kube_pod_status_ready Describes whether the pod is ready to serve requests.
# TYPE kube_pod_status_ready gauge
kube_pod_status_ready{condition="false",namespace="shop",pod="hello-7d9-x2",uid="u-1"} 1
kube_pod_status_ready{condition="true",namespace="shop",pod="hello-7d9-x2",uid="u-1"} 0
kube_pod_status_ready{condition="unknown",namespace="shop",pod="hello-7d9-x2",uid="u-1"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestCollectorFollowsThePod: a pod whose container runs again no longer reports a
// waiting reason, and a pod without status (just created) reports nothing.
func TestCollectorFollowsThePod(t *testing.T) {
	p := crashLooping()
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	fresh := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "shop"}}
	c := collector(t, []*corev1.Pod{p, fresh}, nil)
	if n := testutil.CollectAndCount(c, waitingReason); n != 0 {
		t.Errorf("%d waiting series for running containers", n)
	}
	if n := testutil.CollectAndCount(c, restartsTotal); n != 2 {
		t.Errorf("%d restart series, want the two containers of the started pod", n)
	}
	if n := testutil.CollectAndCount(c, deploymentCondition); n != 0 {
		t.Errorf("%d deployment series without Deployments", n)
	}
}
