package hooklog

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func pod(name string, created time.Time) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "web", CreationTimestamp: metav1.NewTime(created),
		Labels: map[string]string{"batch.kubernetes.io/job-name": "smoke-1a2b"}}}
}

// The API server has no kubelet behind it here: the fake clientset stands in for the
// pod list and the log stream (the dev cluster's end-to-end run reads real logs).
func TestFetchReadsTheEndOfTheHookContainersLog(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Only the Job's pods count: the newer pod belongs to no Job.
	other := pod("other-pod", t0.Add(time.Hour))
	other.Labels = nil
	cs := fake.NewClientset(pod("smoke-1a2b-x", t0), other)
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "step %d done\n", i)
	}
	b.WriteString("error: smoke test /health answered 503\n")
	var opts *corev1.PodLogOptions
	cs.PrependReactor("get", "pods/log", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts = a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		return true, &runtime.Unknown{Raw: []byte(b.String())}, nil
	})
	got, err := Fetch(context.Background(), cs, "web", "smoke-1a2b")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Container != Container || opts.LimitBytes != nil || opts.TailLines != nil {
		t.Errorf("log options %+v, want the whole log of container %q", opts, Container)
	}
	if !strings.HasSuffix(got, "step 4999 done\nerror: smoke test /health answered 503\n") || len(got) > MaxBytes+100 {
		t.Errorf("got %d bytes ending %q", len(got), got[len(got)-60:])
	}
	if !strings.HasPrefix(got, "[ferry: the first ") {
		t.Errorf("log starts %q, not saying its start is missing", got[:40])
	}

	_, err = Fetch(context.Background(), cs, "web", "gone-job")
	if err == nil || err.Error() != "job web/gone-job has no pod left to read the log of" {
		t.Errorf("Fetch of a job without pods: %v", err)
	}
}

func TestNewestPod(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if newest(nil) != nil {
		t.Error("newest of no pods is not nil")
	}
	pods := []corev1.Pod{*pod("a", t0.Add(time.Minute)), *pod("b", t0), *pod("c", t0.Add(time.Minute)), *pod("d", t0.Add(-time.Hour))}
	if got := newest(pods); got.Name != "c" {
		t.Errorf("newest = %s, want c (created last, ties broken by name)", got.Name)
	}
}
