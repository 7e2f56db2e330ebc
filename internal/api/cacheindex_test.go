package api

import (
	"testing"

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
