package changerecord

import (
	"testing"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

func TestResult(t *testing.T) {
	rolledBack := []ferryv1.Checkpoint{{Name: ferryv1.StepDeploy, Phase: ferryv1.CheckpointSucceeded},
		{Name: ferryv1.StepTests, Phase: ferryv1.CheckpointFailed}, {Name: ferryv1.StepRollbackTests, Phase: ferryv1.CheckpointSucceeded}}
	notReturned := []ferryv1.Checkpoint{{Name: ferryv1.StepDeploy, Phase: ferryv1.CheckpointFailed}, {Name: ferryv1.StepRollbackTests, Phase: ferryv1.CheckpointFailed}}
	for _, c := range []struct {
		phase ferryv1.PromotionPhase
		cps   []ferryv1.Checkpoint
		want  ferryv1.ChangeResult
	}{
		{ferryv1.PromotionRunning, nil, ferryv1.ChangeOpen},
		{ferryv1.PromotionRollingBack, rolledBack, ferryv1.ChangeOpen},
		{ferryv1.PromotionSucceeded, nil, ferryv1.ChangeSucceeded},
		{ferryv1.PromotionFailed, rolledBack, ferryv1.ChangeSucceededWithIssues},
		{ferryv1.PromotionFailed, notReturned, ferryv1.ChangeFailed},
		{ferryv1.PromotionFailed, nil, ferryv1.ChangeFailed},
	} {
		p := &ferryv1.Promotion{Status: ferryv1.PromotionStatus{Phase: c.phase, Checkpoints: c.cps}}
		if got := Result(p); got != c.want {
			t.Errorf("%s with %d checkpoints: %s, want %s", c.phase, len(c.cps), got, c.want)
		}
	}
}
