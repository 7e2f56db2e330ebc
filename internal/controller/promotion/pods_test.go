package promotion

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// trackSet is a ReplicaSet of n pods that must be ready for minReady seconds.
func trackSet(n, minReady int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "ns", UID: types.UID("uid-rs")},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To(n), MinReadySeconds: minReady},
	}
}

// trackPod is a pod of owner, ready (since at) or not, going or not.
func trackPod(owner types.UID, ready bool, at time.Time, going bool) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns",
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-abc", UID: owner, Controller: ptr.To(true)}}}}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(at)}}
	if going {
		p.DeletionTimestamp = &metav1.Time{Time: at}
	}
	return p
}

func TestPodsAt(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ready := func() corev1.Pod { return trackPod("uid-rs", true, now.Add(-2*time.Second), false) }
	cases := []struct {
		name    string
		rs      *appsv1.ReplicaSet
		pods    []corev1.Pod
		settled bool
	}{
		{"all ready", trackSet(2, 0), []corev1.Pod{ready(), ready()}, true},
		{"one short", trackSet(3, 0), []corev1.Pod{ready(), ready()}, false},
		{"one not ready", trackSet(2, 0), []corev1.Pod{ready(), trackPod("uid-rs", false, now, false)}, false},
		{"one more than the size", trackSet(1, 0), []corev1.Pod{ready(), ready()}, false},
		{"a going pod does not count", trackSet(1, 0), []corev1.Pod{ready(), trackPod("uid-rs", true, now, true)}, true},
		{"another owner's pod does not count", trackSet(1, 0), []corev1.Pod{ready(), trackPod("uid-other", false, now, false)}, true},
		{"none left of none", trackSet(0, 0), []corev1.Pod{trackPod("uid-rs", true, now, true)}, true},
		{"ready for long enough", trackSet(1, 2), []corev1.Pod{ready()}, true},
		{"ready, not yet for long enough", trackSet(1, 3), []corev1.Pod{ready()}, false},
	}
	for _, c := range cases {
		if got := podsAt(c.pods, c.rs, now); got != c.settled {
			t.Errorf("%s: settled %t, want %t", c.name, got, c.settled)
		}
	}
}

func TestSlimPodKeepsWhatRoundsRead(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc-1", Namespace: "ns", UID: "u", ResourceVersion: "7",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"big": "x"}, DeletionTimestamp: &at,
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-abc", UID: "uid-rs", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: at},
		}},
	}
	out, err := SlimPod(p)
	if err != nil {
		t.Fatal(err)
	}
	slim := out.(*corev1.Pod)
	if slim.Name != p.Name || slim.Namespace != "ns" || slim.UID != "u" || slim.ResourceVersion != "7" || slim.Labels["app"] != "web" ||
		slim.DeletionTimestamp == nil || !metav1.IsControlledBy(slim, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{UID: "uid-rs"}}) {
		t.Errorf("lost what a round reads: %+v", slim.ObjectMeta)
	}
	if since, ready := readySince(slim); !ready || !since.Equal(at.Time) || slim.Status.Phase != corev1.PodRunning {
		t.Errorf("ready %t since %s, phase %s", ready, since, slim.Status.Phase)
	}
	if len(slim.Spec.Containers) != 0 || slim.Annotations != nil || len(slim.Status.Conditions) != 1 {
		t.Errorf("kept more than it needs: %+v", slim)
	}
	if other, _ := SlimPod("not a pod"); other != "not a pod" {
		t.Errorf("changed what is not a pod: %v", other)
	}
}
