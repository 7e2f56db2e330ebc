package promotion

import (
	"context"
	"fmt"
	"maps"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// heldDeployment is web, held for 1.1.0 with the given pod template version.
func heldDeployment(version string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: types.UID("uid-web"),
			Annotations: map[string]string{annotationHold: `{"version":"1.1.0","strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}`}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](5),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "version": version}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:" + version}}}},
		},
	}
}

func TestHeldFor(t *testing.T) {
	h, ok := heldFor(heldDeployment("1.1.0"))
	if !ok || h.Version != "1.1.0" || h.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || h.Strategy.RollingUpdate.MaxSurge.IntValue() != 1 {
		t.Errorf("held %t: %+v", ok, h)
	}
	if _, ok := heldFor(&appsv1.Deployment{}); ok {
		t.Error("a Deployment without the annotation is held")
	}
	if _, ok := heldFor(nil); ok {
		t.Error("no Deployment is held")
	}
	d := heldDeployment("1.1.0")
	d.Annotations[annotationHold] = "not json"
	if h, ok := heldFor(d); !ok || h.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("an unreadable hold: held %t, %+v", ok, h)
	}
}

func TestEscapePointer(t *testing.T) {
	if got := escapePointer("ferry.dev/canary-hold~x"); got != "ferry.dev~1canary-hold~0x" {
		t.Errorf("escaped %q", got)
	}
}

// TestCanarySet checks the canary's ReplicaSet is one the Deployment controller takes as
// the Deployment's own new one: owned by it, its template the Deployment's but for the
// hash label, which its selector adds, sized as saturated at the Deployment's size.
func TestCanarySet(t *testing.T) {
	d := heldDeployment("1.1.0")
	rs, err := canarySet(d, 1)
	if err != nil {
		t.Fatal(err)
	}
	hash := rs.Spec.Template.Labels[labelTemplateHash]
	if hash == "" || rs.Name != "web-"+hash || rs.Spec.Selector.MatchLabels[labelTemplateHash] != hash || rs.Spec.Selector.MatchLabels["app"] != "web" {
		t.Errorf("name %s, template labels %v, selector %v", rs.Name, rs.Spec.Template.Labels, rs.Spec.Selector.MatchLabels)
	}
	if !metav1.IsControlledBy(rs, d) || rs.Labels[LabelTrack] != TrackCanary || rs.Spec.Template.Labels[LabelTrack] != "" {
		t.Errorf("owners %v, labels %v, template labels %v", rs.OwnerReferences, rs.Labels, rs.Spec.Template.Labels)
	}
	if rs.Annotations[annotationDesired] != "5" || rs.Annotations[annotationMax] != "5" || *rs.Spec.Replicas != 1 {
		t.Errorf("annotations %v, replicas %d", rs.Annotations, *rs.Spec.Replicas)
	}
	if !sameTemplate(rs.Spec.Template, d.Spec.Template) || d.Spec.Template.Labels[labelTemplateHash] != "" {
		t.Error("the ReplicaSet's template is not the Deployment's, or the Deployment's was changed")
	}
	other, err := canarySet(heldDeployment("1.2.0"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if other.Name == rs.Name || sameTemplate(other.Spec.Template, d.Spec.Template) {
		t.Errorf("two templates, one name %s", rs.Name)
	}
}

// TestPodSetsOf sorts a held Deployment's ReplicaSets: the canary's by its template,
// the stable one with the most pods, the others with pods; one at no pods, another
// Deployment's, and one going are none of them. With no stable pods left, the stable
// one is the latest revision.
func TestPodSetsOf(t *testing.T) {
	d := heldDeployment("1.1.0")
	set := func(name, version string, replicas int32, revision string, owned bool) *appsv1.ReplicaSet {
		rs, err := canarySet(heldDeployment(version), replicas)
		if err != nil {
			t.Fatal(err)
		}
		rs.Name, rs.Annotations["deployment.kubernetes.io/revision"] = name, revision
		if !owned {
			rs.OwnerReferences[0].UID = "someone-else"
		}
		return rs
	}
	cs := fake.NewClientset(set("canary", "1.1.0", 1, "4", true), set("stable", "1.0.0", 4, "3", true),
		set("older", "0.9.0", 1, "2", true), set("empty", "0.8.0", 0, "1", true), set("foreign", "1.0.0", 9, "9", false))
	c := &conn{cs: cs}
	s, err := podSetsOf(context.Background(), c, d)
	if err != nil {
		t.Fatal(err)
	}
	if s.canary == nil || s.canary.Name != "canary" || s.stable == nil || s.stable.Name != "stable" || len(s.others) != 1 || s.others[0].Name != "older" {
		t.Errorf("canary %v, stable %v, others %d", s.canary, s.stable, len(s.others))
	}
	for _, name := range []string{"stable", "older"} {
		if err := scaleSet(context.Background(), c, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if s, err = podSetsOf(context.Background(), c, d); err != nil || s.stable == nil || s.stable.Name != "stable" || len(s.others) != 0 {
		t.Errorf("with no stable pods: stable %v, others %d, %v", s.stable, len(s.others), err)
	}
}

// TestStartSplitTakesTheVersionsReplicaSetBack starts a canary of 1.1.0 whose
// ReplicaSet an aborted canary left without pods or label: the start makes none beside
// it, gives it the first pod and the canary label, and takes the stable one (and an
// older one with pods) to their first sizes.
func TestStartSplitTakesTheVersionsReplicaSetBack(t *testing.T) {
	ctx := context.Background()
	sd := heldDeployment("1.0.0")
	sd.Annotations = nil
	set := func(version string, replicas int32) *appsv1.ReplicaSet {
		rs, err := canarySet(heldDeployment(version), replicas)
		if err != nil {
			t.Fatal(err)
		}
		delete(rs.Labels, LabelTrack)
		return rs
	}
	left := set("1.1.0", 0)
	cs := fake.NewClientset(sd, set("1.0.0", 4), set("0.9.0", 1), left)
	template, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&heldDeployment("1.1.0").Spec.Template)
	if err != nil {
		t.Fatal(err)
	}
	rendered := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"template": template}}}
	rendered.SetName("web")
	if err := startSplit(ctx, &conn{cs: cs}, sd, rendered, "1.1.0", tracks{canary: 1, stable: 4}, nil); err != nil {
		t.Fatal(err)
	}
	list, err := cs.AppsV1().ReplicaSets("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rs := range list.Items {
		got[rs.Spec.Template.Labels["version"]] = fmt.Sprintf("%d %s", *rs.Spec.Replicas, rs.Labels[LabelTrack])
	}
	want := map[string]string{"1.1.0": "1 canary", "1.0.0": "4 stable", "0.9.0": "0 "}
	if !maps.Equal(got, want) || len(list.Items) != 3 {
		t.Errorf("replica sets (version: size track) %v, want %v", got, want)
	}
}
