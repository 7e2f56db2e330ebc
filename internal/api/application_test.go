package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

func release(name, version string, created time.Time) ferryv1.Release {
	return ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec: ferryv1.ReleaseSpec{Version: version, Flow: "release"}}
}

// TestNewestReleases: newest first, ties by name, cut at the bound; the JSON names
// the commit and the stages a Release was verified in.
func TestNewestReleases(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	rels := []ferryv1.Release{
		release("shop-1-0-0", "1.0.0", t0),
		release("shop-1-2-0", "1.2.0", t0.Add(2*time.Hour)),
		release("shop-1-1-1", "1.1.1", t0.Add(time.Hour)),
		release("shop-1-1-0", "1.1.0", t0.Add(time.Hour)),
	}
	rels[0].Spec.Git = &ferryv1.GitInfo{Commit: "abc123"}
	rels[0].Status.VerifiedStages = []ferryv1.VerifiedStage{{Stage: "dev"}, {Stage: "prod"}}

	got, more := newestReleases(rels, 10)
	var names []string
	for _, r := range got {
		names = append(names, r.Name)
	}
	if want := "shop-1-2-0 shop-1-1-1 shop-1-1-0 shop-1-0-0"; more || strings.Join(names, " ") != want {
		t.Errorf("order %v (more %v), want %s", names, more, want)
	}
	if want := `{"name":"shop-1-0-0","version":"1.0.0","flow":"release","created":"2030-01-02T03:04:05Z","commit":"abc123","verifiedStages":["dev","prod"]}`; jsonOf(t, got[3]) != want {
		t.Errorf("got  %s\nwant %s", jsonOf(t, got[3]), want)
	}
	if got, more := newestReleases(rels, 2); len(got) != 2 || !more || got[1].Name != "shop-1-1-1" {
		t.Errorf("bound 2: %v, more %v", got, more)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
