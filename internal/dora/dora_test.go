package dora

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { t := metav1.NewTime(t0.Add(d)); return &t }

const day = 24 * time.Hour

// prom is a Promotion of release into stage: its deploy step from start, its last
// checkpoint ending at end, and, when rolledBack is not zero, a rollback verified then.
func prom(release, stage string, phase ferryv1.PromotionPhase, start, end, rolledBack time.Duration) ferryv1.Promotion {
	p := ferryv1.Promotion{Spec: ferryv1.PromotionSpec{Release: release, Stage: stage}, Status: ferryv1.PromotionStatus{Phase: phase}}
	p.Status.Checkpoints = []ferryv1.Checkpoint{
		{Name: ferryv1.StepApproval, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(start - time.Minute), FinishedAt: at(start)},
		{Name: ferryv1.StepDeploy, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(start), FinishedAt: at(end)},
	}
	if rolledBack != 0 {
		p.Status.Checkpoints = append(p.Status.Checkpoints, ferryv1.Checkpoint{Name: ferryv1.StepRollbackTests, Phase: ferryv1.CheckpointSucceeded,
			StartedAt: at(rolledBack - time.Minute), FinishedAt: at(rolledBack)})
	}
	return p
}

// TestScriptedHistory: ten days of prod deliveries with two failures, one rolled back
// by itself and one restored by the next delivery, beside promotions that do not count.
func TestScriptedHistory(t *testing.T) {
	rejected := ferryv1.Promotion{Spec: ferryv1.PromotionSpec{Release: "r6", Stage: "prod"}, Status: ferryv1.PromotionStatus{Phase: ferryv1.PromotionFailed,
		Checkpoints: []ferryv1.Checkpoint{{Name: ferryv1.StepApproval, Phase: ferryv1.CheckpointFailed, StartedAt: at(4 * day), FinishedAt: at(4*day + time.Hour)}}}}
	running := prom("r7", "prod", ferryv1.PromotionRunning, 5*day, 5*day+time.Minute, 0)
	proms := []ferryv1.Promotion{
		prom("r1", "prod", ferryv1.PromotionSucceeded, time.Hour, time.Hour+10*time.Minute, 0),
		prom("r2", "prod", ferryv1.PromotionFailed, day+2*time.Hour, day+2*time.Hour+5*time.Minute, day+2*time.Hour+8*time.Minute),
		prom("r3", "prod", ferryv1.PromotionSucceeded, 2*day+3*time.Hour, 2*day+3*time.Hour+30*time.Minute, 0),
		prom("r4", "prod", ferryv1.PromotionFailed, 3*day+time.Hour, 3*day+time.Hour+5*time.Minute, 0),
		prom("r5", "prod", ferryv1.PromotionSucceeded, 3*day+4*time.Hour+30*time.Minute, 3*day+5*time.Hour, 0),
		rejected, running,
		prom("r8", "prod", ferryv1.PromotionSucceeded, -day, -day+time.Minute, 0),
		prom("r1", "dev", ferryv1.PromotionSucceeded, 30*time.Minute, 40*time.Minute, 0),
		prom("r9", "prod", ferryv1.PromotionSucceeded, 9*day, 9*day+time.Minute, 0),
	}
	changed := map[string]time.Time{"r1": t0, "r2": t0.Add(day), "r3": t0.Add(2 * day), "r4": t0.Add(3 * day), "r5": t0.Add(3*day + 2*time.Hour)}
	f := Compute(proms, changed, "shop", "prod", t0, t0.Add(10*day))
	b, _ := json.Marshal(f)
	want := `{"application":"shop","stage":"prod","from":"2026-11-01T00:00:00Z","to":"2026-11-11T00:00:00Z",` +
		`"deployments":6,"succeeded":4,"failed":2,"perDay":0.4,"leadTime":"3h0m0s","leadTimes":3,` +
		`"changeFailureRate":0.3333333333333333,"timeToRestore":"2h4m0s","restores":2}`
	if string(b) != want {
		t.Errorf("figures:\n got %s\nwant %s", b, want)
	}
}

func TestNothingToCount(t *testing.T) {
	f := Compute(nil, nil, "shop", "prod", t0, t0.Add(day))
	b, _ := json.Marshal(f)
	if !strings.Contains(string(b), `"deployments":0`) || strings.Contains(string(b), "leadTime\":\"") || f.ChangeFailureRate != 0 || f.TimeToRestore != nil {
		t.Errorf("no deployments: %s", b)
	}
	// A failure never restored has no time to restore yet.
	f = Compute([]ferryv1.Promotion{prom("r1", "prod", ferryv1.PromotionFailed, time.Hour, 2*time.Hour, 0)}, nil, "shop", "prod", t0, t0.Add(day))
	if f.Failed != 1 || f.Restores != 0 || f.TimeToRestore != nil || f.ChangeFailureRate != 1 {
		t.Errorf("an unrestored failure: %+v", f)
	}
}

func TestMedian(t *testing.T) {
	if m := median([]time.Duration{3, 1, 2}); m.Duration != 2 {
		t.Errorf("odd: %v", m)
	}
	if m := median([]time.Duration{4, 1, 2, 3}); m.Duration != 2 {
		t.Errorf("even: %v (integer mean of 2 and 3)", m)
	}
}
