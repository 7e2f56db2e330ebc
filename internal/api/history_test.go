package api

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// TestHistory: the application's Promotions newest first with their Release's version,
// commit and creator (the person who rolled back for a rollback), and ?q= picks by
// version, stage, phase or commit.
func TestHistory(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	rel := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "shop-1", Namespace: "team", Annotations: map[string]string{ferryv1.AnnotationCreatedBy: "alice"}},
		Spec: ferryv1.ReleaseSpec{Application: "shop", Version: "1.0.0", Git: &ferryv1.GitInfo{Commit: "abc1234"}}}
	dev := testPromotion("shop-1-dev", "shop", "dev", t0, ferryv1.PromotionSucceeded)
	dev.Spec.Release = "shop-1"
	end := metav1.NewTime(t0.Add(5 * time.Minute))
	dev.Status.Checkpoints = []ferryv1.Checkpoint{{Name: "freeze", Phase: "Succeeded", StartedAt: &dev.CreationTimestamp}, {Name: "done", Phase: "Succeeded", FinishedAt: &end}}
	back := testPromotion("shop-1-prod-rollback", "shop", "prod", t0.Add(time.Hour), ferryv1.PromotionRunning)
	back.Spec.Release, back.Spec.Rollback = "shop-1", &ferryv1.Override{Reason: "bad", User: "bob"}
	other := testPromotion("cart-1-dev", "cart", "dev", t0.Add(2*time.Hour), ferryv1.PromotionRunning)

	got := must(history(context.Background(), fakeCache(t, rel, dev, back, other), "team", "shop"))
	if len(got) != 2 {
		t.Fatalf("history: %+v", got)
	}
	if e := got[0]; e.Name != "shop-1-prod-rollback" || e.CreatedBy != "bob" || e.FinishedAt != nil || e.Version != "1.0.0" {
		t.Errorf("newest: %+v", e)
	}
	want := `{"name":"shop-1-dev","release":"shop-1","version":"1.0.0","stage":"dev","phase":"Succeeded","startedAt":"2030-01-02T03:04:00Z",` +
		`"finishedAt":"2030-01-02T03:09:00Z","createdBy":"alice","commit":"abc1234"}`
	if jsonOf(t, got[1]) != want {
		t.Errorf("got  %s\nwant %s", jsonOf(t, got[1]), want)
	}
	for q, want := range map[string]string{"ABC": "shop-1-prod-rollback shop-1-dev", "prod": "shop-1-prod-rollback", "succeeded": "shop-1-dev", "2.0": ""} {
		var names []string
		for _, e := range got {
			if e.matches(strings.ToLower(q)) {
				names = append(names, e.Name)
			}
		}
		if strings.Join(names, " ") != want {
			t.Errorf("q=%s: %v, want %s", q, names, want)
		}
	}
}
