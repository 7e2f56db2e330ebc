package api

import (
	"context"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// plannedSteps are the checkpoints every Promotion passes, in order (the promotion
// controller's steps and the done that ends them): the board's progress counts them.
var plannedSteps = []string{ferryv1.StepFreeze, ferryv1.StepUpstream, ferryv1.StepApproval, ferryv1.StepPreDeploy,
	ferryv1.StepDeploy, ferryv1.StepPostDeploy, ferryv1.StepTests, ferryv1.StepDone}

// recoverySteps follow a failure, and count once they began.
var recoverySteps = []string{ferryv1.StepRollback, ferryv1.StepRollbackTests}

// Progress is where one Promotion stands, as the release board shows it.
type Progress struct {
	// Promotion is the Promotion shown: the stage's active one, else its last.
	Promotion string                 `json:"promotion,omitempty"`
	Phase     ferryv1.PromotionPhase `json:"phase,omitempty"`
	// Step is the step running now.
	Step string `json:"step,omitempty"`
	// StepsDone of StepsTotal have succeeded or were skipped.
	StepsDone  int `json:"stepsDone,omitempty"`
	StepsTotal int `json:"stepsTotal,omitempty"`
	// WaitingApproval says the Promotion waits for approvers.
	WaitingApproval bool `json:"waitingApproval,omitempty"`
	// StartedAt is when its first step began (its creation before that).
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
}

// progressOf reads the Promotion's checkpoints; a nil Promotion has none.
func progressOf(p *ferryv1.Promotion) Progress {
	if p == nil {
		return Progress{}
	}
	out := Progress{Promotion: p.Name, Phase: p.Status.Phase, StepsTotal: len(plannedSteps),
		WaitingApproval: p.Status.Phase == ferryv1.PromotionWaitingApproval}
	for _, c := range p.Status.Checkpoints {
		if slices.Contains(recoverySteps, c.Name) {
			out.StepsTotal++
		} else if !slices.Contains(plannedSteps, c.Name) {
			continue
		}
		if c.Phase == ferryv1.CheckpointSucceeded || c.Phase == ferryv1.CheckpointSkipped {
			out.StepsDone++
		}
		if c.Phase == ferryv1.CheckpointRunning {
			out.Step = c.Name
		}
		if out.StartedAt == nil && c.StartedAt != nil {
			out.StartedAt = c.StartedAt.DeepCopy()
		}
	}
	if out.StartedAt == nil {
		out.StartedAt = p.CreationTimestamp.DeepCopy()
	}
	return out
}

// stagePromotion is the Promotion a stage shows on the board: the one under way, else
// the stage's newest; nil when the stage has none. The cache's objects are shared, so
// the caller only reads what it gets.
func stagePromotion(ctx context.Context, c client.Reader, ns, app, stage, active string) (*ferryv1.Promotion, error) {
	if active != "" {
		p := &ferryv1.Promotion{}
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: active}, p, client.UnsafeDisableDeepCopy)
		if err == nil {
			return p, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	list := &ferryv1.PromotionList{}
	if err := c.List(ctx, list, client.InNamespace(ns), client.MatchingFields{indexAppStage: app + "/" + stage},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	var newest *ferryv1.Promotion
	for i := range list.Items {
		if newest == nil || olderPromotion(newest, &list.Items[i]) < 0 {
			newest = &list.Items[i]
		}
	}
	return newest, nil
}

// olderPromotion orders Promotions by creation, then by name for those made in the same
// second.
func olderPromotion(a, b *ferryv1.Promotion) int {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}
