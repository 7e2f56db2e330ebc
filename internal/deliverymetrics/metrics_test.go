package deliverymetrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

func stepCount(t *testing.T, step, result string) (uint64, float64) {
	t.Helper()
	var m dto.Metric
	if err := StepSeconds.WithLabelValues(step, result).(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

// TestObserveCountsEachEndOnce plays three status writes of one Promotion: its deploy
// step ends, then nothing new, then its tests fail and it ends Failed.
func TestObserveCountsEachEndOnce(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	at := func(s int) *metav1.Time { x := metav1.NewTime(t0.Add(time.Duration(s) * time.Second)); return &x }
	p0 := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "shop-1-2-0-prod"},
		Spec: ferryv1.PromotionSpec{Application: "shop", Stage: "prod", Release: "shop-1-2-0"},
		Status: ferryv1.PromotionStatus{Phase: ferryv1.PromotionRunning, Checkpoints: []ferryv1.Checkpoint{
			{Name: ferryv1.StepDeploy, Phase: ferryv1.CheckpointRunning, StartedAt: at(0)}}}}
	p1 := p0.DeepCopy()
	p1.Status.Checkpoints[0].Phase, p1.Status.Checkpoints[0].FinishedAt = ferryv1.CheckpointSucceeded, at(40)
	p1.Status.Checkpoints = append(p1.Status.Checkpoints, ferryv1.Checkpoint{Name: ferryv1.StepTests, Phase: ferryv1.CheckpointRunning, StartedAt: at(40)})
	p2 := p1.DeepCopy()
	p2.Status.Checkpoints[1].Phase, p2.Status.Checkpoints[1].FinishedAt = ferryv1.CheckpointFailed, at(52)
	p2.Status.Phase = ferryv1.PromotionFailed

	deploys, _ := stepCount(t, ferryv1.StepDeploy, "Succeeded")
	failed := testutil.ToFloat64(Promotions.WithLabelValues("team", "shop", "prod", "Failed"))
	Observe(p0, p1)
	Observe(p1, p1.DeepCopy()) // a write that ended nothing
	Observe(p1, p2)
	Observe(p2, p2.DeepCopy()) // and one after the end
	if n, sum := stepCount(t, ferryv1.StepDeploy, "Succeeded"); n != deploys+1 || sum < 40 {
		t.Errorf("deploy steps observed %d (sum %v), want one more of 40 s", n-deploys, sum)
	}
	if n, sum := stepCount(t, ferryv1.StepTests, "Failed"); n != 1 || sum != 12 {
		t.Errorf("failed tests steps: %d, sum %v; want one of 12 s", n, sum)
	}
	if got := testutil.ToFloat64(Promotions.WithLabelValues("team", "shop", "prod", "Failed")); got != failed+1 {
		t.Errorf("failed promotions counted %v more, want 1", got-failed)
	}
}
