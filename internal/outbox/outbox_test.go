package outbox

import (
	"testing"
	"time"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

func TestTypes(t *testing.T) {
	for _, c := range []struct{ reason, step, want string }{
		{"PromotionStarted", "freeze", "dev.ferry.promotion.started"},
		{"ReleaseCreated", "", "dev.ferry.release.created"},
		{"AnalysisStarted", "deploy", "dev.ferry.analysis.started"},
		{"StepStarted", ferryv1.StepDeploy, "dev.ferry.deployment.started"},
		{"StepSucceeded", ferryv1.StepDeploy, "dev.ferry.deployment.finished"},
		{"StepStarted", ferryv1.StepTests, "dev.ferry.hook.started"},
		{"StepSucceeded", ferryv1.StepRollbackTests, "dev.ferry.hook.finished"},
		{"StepStarted", ferryv1.StepRollback, "dev.ferry.rollback.deployment.started"},
		{"StepSucceeded", ferryv1.StepApproval, "dev.ferry.step.finished"},
		{"ApprovalRequested", ferryv1.StepApproval, "dev.ferry.approval.requested"},
		{"ApprovalRejected", ferryv1.StepApproval, "dev.ferry.approval.rejected"},
		{"RollbackStarted", ferryv1.StepRollback, "dev.ferry.rollback.started"},
		{"RolledBack", ferryv1.StepRollback, "dev.ferry.rollback.finished"},
		{"PromotionFailed", ferryv1.StepTests, "dev.ferry.promotion.finished"},
		{"StepFailed", ferryv1.StepTests, "dev.ferry.step.failed"},
		{"Analysis", ferryv1.StepDeploy, "dev.ferry.analysis.finished"},
		{"CanaryAborted", ferryv1.StepDeploy, "dev.ferry.deployment.progressed"},
	} {
		if got := Type(c.reason, c.step); got != c.want {
			t.Errorf("Type(%s, %s) = %s, want %s", c.reason, c.step, got, c.want)
		}
	}
}

// TestRecordDeliverTrim: events are numbered in order; each sink's progress is its own;
// only what every sink has is dropped; the outbox never outgrows MaxEvents.
func TestRecordDeliverTrim(t *testing.T) {
	p := &ferryv1.Promotion{}
	now := time.Now()
	for range 5 {
		Record(p, "StepStarted", ferryv1.StepDeploy, "", now)
	}
	Delivery(p, "a").Delivered = 4
	Delivery(p, "b").Delivered = 2
	if got := Pending(p, "b"); len(got) != 3 || got[0].Seq != 3 {
		t.Errorf("pending for b: %+v", got)
	}
	Trim(p, []string{"a", "b"})
	if len(p.Status.Outbox) != 3 || p.Status.Outbox[0].Seq != 3 || p.Status.EventSeq != 5 {
		t.Errorf("after the trim: %+v", p.Status.Outbox)
	}
	for range MaxEvents + 10 {
		Record(p, "StepStarted", ferryv1.StepDeploy, "", now)
	}
	if n := len(p.Status.Outbox); n != MaxEvents || p.Status.Outbox[n-1].Seq != p.Status.EventSeq {
		t.Errorf("outbox of %d, last %d of %d", n, p.Status.Outbox[n-1].Seq, p.Status.EventSeq)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int32]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 10: time.Minute, 100: time.Minute} {
		if got := Backoff(n, time.Minute); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, want)
		}
	}
}
