package install

import (
	"testing"
)

// TestServerObjects: the ServiceAccount lives in the namespace asked for, and the
// binding gives it the ClusterRole of the same name.
func TestServerObjects(t *testing.T) {
	objs, err := ServerObjects("delivery")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetAPIVersion()+" "+o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
	}
	want := []string{"v1 Namespace /delivery", "v1 ServiceAccount delivery/ferry-server",
		"rbac.authorization.k8s.io/v1 ClusterRole /ferry-server", "rbac.authorization.k8s.io/v1 ClusterRoleBinding /ferry-server"}
	if len(got) != len(want) {
		t.Fatalf("objects %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("object %d: %s, want %s", i, got[i], want[i])
		}
	}
	subjects := maps(objs[3].Object["subjects"])
	if len(subjects) != 1 || subjects[0]["namespace"] != "delivery" || subjects[0]["name"] != "ferry-server" || subjects[0]["kind"] != "ServiceAccount" {
		t.Errorf("subjects %v", subjects)
	}
	if _, ok := objs[0].Object["metadata"].(map[string]any)["creationTimestamp"]; ok {
		t.Error("a creationTimestamp is applied")
	}
}

// maps is an unstructured list of objects.
func maps(v any) []map[string]any {
	var out []map[string]any
	for _, r := range v.([]any) {
		m, _ := r.(map[string]any)
		out = append(out, m)
	}
	return out
}
