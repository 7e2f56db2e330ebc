package hooklog

import (
	"context"
	"fmt"
	"io"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Container is the name of a hook Job's one container.
const Container = "hook"

// FetchTimeout bounds the reading of one log.
const FetchTimeout = 30 * time.Second

// Fetch reads the log of the hook container of the Job's newest pod, through the API
// server of the Job's cluster, and returns its last MaxBytes (Tail.String). The whole
// log is streamed, not only its first bytes, because a failing hook says why at the end;
// what the kubelet serves is bounded by its log rotation (10 MiB by default).
func Fetch(ctx context.Context, cs kubernetes.Interface, ns, job string) (string, error) {
	return FetchContainer(ctx, cs, ns, job, Container)
}

// FetchContainer is Fetch for the named container of the Job's pod.
func FetchContainer(ctx context.Context, cs kubernetes.Interface, ns, job, container string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + job})
	if err != nil {
		return "", fmt.Errorf("listing the pods of job %s/%s: %w", ns, job, err)
	}
	pod := newest(pods.Items)
	if pod == nil {
		return "", fmt.Errorf("job %s/%s has no pod left to read the log of", ns, job)
	}
	stream, err := cs.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: container}).Stream(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the log of pod %s/%s: %w", ns, pod.Name, err)
	}
	defer stream.Close()
	t := &Tail{}
	if _, err := io.Copy(t, stream); err != nil {
		return "", fmt.Errorf("reading the log of pod %s/%s: %w", ns, pod.Name, err)
	}
	return t.String(), nil
}

// newest is the pod created last (a Job without retries has one; a pod lost with its
// node may have been replaced), nil when there is none.
func newest(pods []corev1.Pod) *corev1.Pod {
	var last *corev1.Pod
	for i := range pods {
		p := &pods[i]
		if last == nil || last.CreationTimestamp.Before(&p.CreationTimestamp) ||
			(last.CreationTimestamp.Equal(&p.CreationTimestamp) && p.Name > last.Name) {
			last = p
		}
	}
	return last
}
