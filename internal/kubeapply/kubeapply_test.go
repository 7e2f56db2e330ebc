package kubeapply

import (
	"strings"
	"testing"
)

func TestDecodeSplitsDocuments(t *testing.T) {
	objs, err := Decode([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetName() != "a" || objs[1].GetKind() != "ConfigMap" {
		t.Fatalf("got %d objects", len(objs))
	}
}

func TestDecodeNamesTheBadDocument(t *testing.T) {
	_, err := Decode([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nmetadata: {name: b}\n"))
	if err == nil || !strings.Contains(err.Error(), "document 2") {
		t.Fatalf("err = %v", err)
	}
}
