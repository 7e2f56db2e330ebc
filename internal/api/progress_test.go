package api

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// checkpoints are steps of the given names and phases ("freeze Succeeded"), started a
// minute apart from t0.
func checkpoints(t0 time.Time, steps ...string) []ferryv1.Checkpoint {
	var out []ferryv1.Checkpoint
	for i, s := range steps {
		name, phase, _ := strings.Cut(s, " ")
		at := metav1.NewTime(t0.Add(time.Duration(i) * time.Minute))
		out = append(out, ferryv1.Checkpoint{Name: name, Phase: ferryv1.CheckpointPhase(phase), StartedAt: &at})
	}
	return out
}

// TestProgress: the board's step, counts and start, for a Promotion at each point of its
// way.
func TestProgress(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	created := metav1.NewTime(t0.Add(-time.Hour))
	for _, tc := range []struct {
		name    string
		phase   ferryv1.PromotionPhase
		cps     []ferryv1.Checkpoint
		step    string
		done    int
		total   int
		waiting bool
		started time.Time
	}{
		{"not started", ferryv1.PromotionPending, nil, "", 0, 8, false, created.Time},
		{"waiting for approvers", ferryv1.PromotionWaitingApproval,
			checkpoints(t0, "freeze Succeeded", "upstream Skipped", "approval Running"), "approval", 2, 8, true, t0},
		{"deploying", ferryv1.PromotionRunning,
			checkpoints(t0, "freeze Succeeded", "upstream Succeeded", "approval Succeeded", "preDeploy Succeeded", "deploy Running"),
			"deploy", 4, 8, false, t0},
		{"verified", ferryv1.PromotionSucceeded,
			checkpoints(t0, "freeze Succeeded", "upstream Succeeded", "approval Succeeded", "preDeploy Succeeded", "deploy Succeeded", "postDeploy Succeeded", "tests Succeeded", "done Succeeded"), "", 8, 8, false, t0},
		{"rolling back", ferryv1.PromotionRollingBack,
			checkpoints(t0, "freeze Succeeded", "upstream Succeeded", "approval Succeeded", "preDeploy Succeeded", "deploy Failed", "rollback Running"), "rollback", 4, 9, false, t0},
	} {
		p := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "shop-1-dev", CreationTimestamp: created},
			Status: ferryv1.PromotionStatus{Phase: tc.phase, Checkpoints: tc.cps}}
		got := progressOf(p)
		if got.Promotion != "shop-1-dev" || got.Phase != tc.phase || got.Step != tc.step || got.StepsDone != tc.done ||
			got.StepsTotal != tc.total || got.WaitingApproval != tc.waiting || got.StartedAt == nil || !got.StartedAt.Time.Equal(tc.started) {
			t.Errorf("%s: %+v", tc.name, got)
		}
	}
	if got := progressOf(nil); got != (Progress{}) {
		t.Errorf("no promotion: %+v", got)
	}
}
