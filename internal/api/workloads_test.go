package api

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

const shopAppFile = `
build: {artifact: shop}
deploy:
  namespace: shop
  stages:
    - {name: dev, target: [{cluster_id: [local]}]}
    - {name: prod, namespace: shop-prod, target: [{cluster_id: [east, west]}]}
`

// TestWorkloads: one row per stage with the version it runs, its namespace from the
// Release's app file (as the cache keeps it), its digests and when its deploy ended; a
// stage nothing reached has its row without a version.
func TestWorkloads(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	rel := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "shop-1", Namespace: "team"},
		Spec: ferryv1.ReleaseSpec{Application: "shop", Version: "1.0.0", Flow: "release", AppFile: shopAppFile,
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.test/shop", Digest: "sha256:aa"}}}}
	if _, err := Transform(rel); err != nil || rel.Spec.AppFile != "" {
		t.Fatalf("transform: %v, app file %q", err, rel.Spec.AppFile)
	}
	p := testPromotion("shop-1-prod", "shop", "prod", t0, ferryv1.PromotionSucceeded)
	p.Spec.Release = "shop-1"
	end := metav1.NewTime(t0.Add(3 * time.Minute))
	p.Status.Checkpoints = []ferryv1.Checkpoint{{Name: "deploy", Phase: "Succeeded", FinishedAt: &end}}
	app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team"},
		Spec:   ferryv1.ApplicationSpec{Stages: []ferryv1.StageSpec{{Name: "dev", Clusters: []string{"local"}}, {Name: "prod", Clusters: []string{"east", "west"}}}},
		Status: ferryv1.ApplicationStatus{Stages: []ferryv1.StageStatus{{Name: "prod", CurrentRelease: "shop-1", CurrentVersion: "1.0.0"}}}}

	rows := must(workloads(context.Background(), fakeCache(t, rel, p), app))
	prod := `"namespace":"shop-prod","version":"1.0.0","release":"shop-1",` +
		`"images":[{"name":"app","repository":"registry.test/shop","digest":"sha256:aa"}],"deployedAt":"2030-01-02T03:07:00Z"}`
	want := `[{"application":"shop","stage":"dev","cluster":"local"},` +
		`{"application":"shop","stage":"prod","cluster":"east",` + prod + `,` +
		`{"application":"shop","stage":"prod","cluster":"west",` + prod + `]`
	if got := jsonOf(t, rows); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
