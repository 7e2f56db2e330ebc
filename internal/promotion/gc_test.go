package promotion

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

func TestCollectable(t *testing.T) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	prom := func(name, stage string, minute int, phase ferryv1.PromotionPhase) ferryv1.Promotion {
		p := ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(base.Add(time.Duration(minute) * time.Minute))},
			Spec: ferryv1.PromotionSpec{Application: "web", Stage: stage}, Status: ferryv1.PromotionStatus{Phase: phase}}
		if phase == ferryv1.PromotionSucceeded {
			done := metav1.NewTime(base.Add(time.Duration(minute+1) * time.Minute))
			p.Status.Checkpoints = []ferryv1.Checkpoint{{Name: ferryv1.StepDone, FinishedAt: &done}}
		}
		return p
	}
	proms := []ferryv1.Promotion{
		prom("v1-dev", "dev", 1, ferryv1.PromotionSucceeded),
		prom("v2-dev", "dev", 2, ferryv1.PromotionFailed),
		prom("v3-dev", "dev", 3, ferryv1.PromotionFailed),
		prom("v4-dev", "dev", 4, ferryv1.PromotionRunning),
		prom("v1-prod", "prod", 2, ferryv1.PromotionSucceeded),
		prom("v2-prod", "prod", 3, ferryv1.PromotionSucceeded),
	}
	for _, c := range []struct {
		keep int
		want []string
	}{
		// dev keeps v3 (newest finished) and v1 (what it runs); v4 runs.
		{1, []string{"v1-prod", "v2-dev"}},
		{2, nil},
		{0, nil},
	} {
		if got := Collectable(proms, c.keep); !slices.Equal(got, c.want) {
			t.Errorf("keep %d: %v, want %v", c.keep, got, c.want)
		}
	}
}
