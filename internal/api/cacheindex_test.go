package api

import (
	"maps"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// fakeCache is a reader of the objects with the cache's field indexes, standing in for the
// server's informer cache in the tests of pure reads (the integration tests read a real
// cache).
func fakeCache(t *testing.T, objs ...client.Object) client.Reader {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := ferryv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...)
	for _, ix := range Indexes() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	return b.Build()
}

// must returns v, failing on err, for one-line reads in tests.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestTransform: what the cache keeps has no managed fields, app files or outboxes, and
// a Release keeps its namespace per stage (a stage its file does not name gets the
// file's namespace).
func TestTransform(t *testing.T) {
	mf := []metav1.ManagedFieldsEntry{{Manager: "ferry"}}
	app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{ManagedFields: mf}, Spec: ferryv1.ApplicationSpec{AppFile: shopAppFile}}
	p := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{ManagedFields: mf},
		Status: ferryv1.PromotionStatus{Phase: ferryv1.PromotionRunning, Outbox: []ferryv1.OutboxEvent{{Seq: 1}}}}
	rel := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "shop-1", Annotations: map[string]string{"a": "b"}},
		Spec: ferryv1.ReleaseSpec{Flow: "release", AppFile: shopAppFile}}
	for _, o := range []any{app, p, rel} {
		if _, err := Transform(o); err != nil {
			t.Fatal(err)
		}
	}
	if app.ManagedFields != nil || app.Spec.AppFile != "" || p.ManagedFields != nil || p.Status.Outbox != nil || p.Status.Phase != ferryv1.PromotionRunning {
		t.Errorf("application %+v\npromotion %+v", app, p)
	}
	got := map[string]string{}
	for _, st := range []string{"dev", "prod", "dr"} {
		got[st] = stageNamespace("shop", rel, st)
	}
	if want := map[string]string{"dev": "shop", "prod": "shop-prod", "dr": "shop"}; !maps.Equal(got, want) || rel.Annotations["a"] != "b" || rel.Spec.AppFile != "" {
		t.Errorf("namespaces %v, annotations %v", got, rel.Annotations)
	}
}
