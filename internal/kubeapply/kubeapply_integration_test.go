//go:build integration

package kubeapply

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"ferry.dev/ferry/internal/testenv"
)

const manifest = `
apiVersion: v1
kind: Namespace
metadata: {name: apply-test}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: apply-test}
data: {color: blue}
`

func TestApplyIsIdempotentAndUpdates(t *testing.T) {
	rc := testenv.Start(t)
	ctx := context.Background()
	ap, err := New(rc, "test")
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	if err := ap.ApplyManifest(ctx, []byte(manifest)); err != nil {
		t.Fatal(err)
	}
	first, err := cs.CoreV1().ConfigMaps("apply-test").Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ap.ApplyManifest(ctx, []byte(manifest)); err != nil {
		t.Fatal(err)
	}
	second, _ := cs.CoreV1().ConfigMaps("apply-test").Get(ctx, "settings", metav1.GetOptions{})
	if first.ResourceVersion != second.ResourceVersion {
		t.Errorf("applying the same objects again changed them: %s -> %s", first.ResourceVersion, second.ResourceVersion)
	}
	if err := ap.ApplyManifest(ctx, []byte(strings.Replace(manifest, "blue", "green", 1))); err != nil {
		t.Fatal(err)
	}
	third, _ := cs.CoreV1().ConfigMaps("apply-test").Get(ctx, "settings", metav1.GetOptions{})
	if third.Data["color"] != "green" {
		t.Errorf("color = %q after applying green", third.Data["color"])
	}
}

func TestApplyNamesAnUnknownKind(t *testing.T) {
	rc := testenv.Start(t)
	ap, err := New(rc, "test")
	if err != nil {
		t.Fatal(err)
	}
	err = ap.ApplyManifest(context.Background(), []byte("apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\n"))
	if err == nil || !strings.Contains(err.Error(), "Gadget g1") {
		t.Fatalf("err = %v, want it to name Gadget g1", err)
	}
}
