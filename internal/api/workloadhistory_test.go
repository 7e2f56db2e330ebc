package api

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// TestWorkloadHistory: per stage in the application's order, newest first; a failed
// Promotion that rolled back counts as the deployment of the Release it returned to.
func TestWorkloadHistory(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	at := func(m int) *metav1.Time { v := metav1.NewTime(t0.Add(time.Duration(m) * time.Minute)); return &v }
	deployed := func(name, release, stage string, m int) ferryv1.Promotion {
		p := testPromotion(name, "shop", stage, t0, ferryv1.PromotionSucceeded)
		p.Spec.Release = release
		p.Status.Checkpoints = []ferryv1.Checkpoint{{Name: "deploy", Phase: "Succeeded", FinishedAt: at(m)}}
		return *p
	}
	failed := deployed("shop-2-prod", "shop-2", "prod", 30)
	failed.Status.RollbackTo = "shop-1"
	failed.Status.Checkpoints = append(failed.Status.Checkpoints, ferryv1.Checkpoint{Name: "rollback", Phase: "Succeeded", FinishedAt: at(40)})
	notYet := testPromotion("shop-3-prod", "shop", "prod", t0, ferryv1.PromotionRunning)
	proms := []ferryv1.Promotion{deployed("shop-1-dev", "shop-1", "dev", 1), deployed("shop-1-prod", "shop-1", "prod", 10),
		failed, deployed("shop-2-dev", "shop-2", "dev", 20), *notYet}
	rels := []ferryv1.Release{{ObjectMeta: metav1.ObjectMeta{Name: "shop-1"}, Spec: ferryv1.ReleaseSpec{Version: "1.0.0"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "shop-2"}, Spec: ferryv1.ReleaseSpec{Version: "2.0.0"}}}
	app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: ferryv1.ApplicationSpec{Stages: []ferryv1.StageSpec{{Name: "dev"}, {Name: "prod"}, {Name: "dr"}}}}

	got := jsonOf(t, workloadHistory(app, proms, rels))
	want := `{"application":"shop","stages":[` +
		`{"stage":"dev","versions":[{"version":"2.0.0","release":"shop-2","promotion":"shop-2-dev","deployedAt":"2030-01-02T03:24:00Z"},` +
		`{"version":"1.0.0","release":"shop-1","promotion":"shop-1-dev","deployedAt":"2030-01-02T03:05:00Z"}]},` +
		`{"stage":"prod","versions":[{"version":"1.0.0","release":"shop-1","promotion":"shop-2-prod","deployedAt":"2030-01-02T03:44:00Z","rollback":true},` +
		`{"version":"2.0.0","release":"shop-2","promotion":"shop-2-prod","deployedAt":"2030-01-02T03:34:00Z"},` +
		`{"version":"1.0.0","release":"shop-1","promotion":"shop-1-prod","deployedAt":"2030-01-02T03:14:00Z"}]},` +
		`{"stage":"dr","versions":[]}]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
