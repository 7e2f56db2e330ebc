package approval

import (
	"context"
	"errors"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// ErrNotUnderWay and ErrNotNow say why a person's override was not recorded: no
// Promotion runs in the stage, or the one that runs cannot take it now (it is already
// aborted, its step was resumed, it runs no canary step, it rolls back).
var (
	ErrNotUnderWay = errors.New("no promotion is under way")
	ErrNotNow      = errors.New("the promotion cannot take it now")
)

// overrideError is a refusal with its kind, for errors.Is.
type overrideError struct {
	msg  string
	kind error
}

func (e *overrideError) Error() string { return e.msg }
func (e *overrideError) Unwrap() error { return e.kind }

// notNow is an ErrNotNow refusal.
func notNow(format string, args ...any) error {
	return &overrideError{msg: fmt.Sprintf(format, args...), kind: ErrNotNow}
}

// OverrideFreeze lets the Promotion held by a freeze window in the stage go on: it
// records who decided and why in the Promotion's spec, which the API server's admission
// policy checks against the request's identity.
func OverrideFreeze(ctx context.Context, c client.Client, who Identity, req Request) (*ferryv1.Promotion, error) {
	if req.Reason == "" {
		return nil, fmt.Errorf("a freeze override needs a reason")
	}
	return patchActive(ctx, c, req, func(p *ferryv1.Promotion) error {
		if p.Spec.FreezeOverride != nil {
			return notNow("%s already has a freeze override by %s: %s", p.Name, p.Spec.FreezeOverride.User, p.Spec.FreezeOverride.Reason)
		}
		p.Spec.FreezeOverride = &ferryv1.Override{Reason: req.Reason, User: who.User}
		return nil
	})
}

// Resume lets the canary step of the stage's Promotion that waits for a person (a pause
// without a duration, or an inconclusive analysis that says pause) go on, recording who
// and why; the admission policy checks the identity. With req.Full every step left is
// skipped, whether it waits for a person or not, and the canary is promoted at once.
func Resume(ctx context.Context, c client.Client, who Identity, req Request) (*ferryv1.Promotion, error) {
	if req.Reason == "" {
		return nil, fmt.Errorf("a resume needs a reason")
	}
	return patchActive(ctx, c, req, func(p *ferryv1.Promotion) error {
		cs := p.Status.Canary
		r := p.Spec.Resume
		switch {
		case cs == nil || cs.Phase != ferryv1.CanaryProgressing:
			return notNow("%s runs no canary step that could wait for a person", p.Name)
		case r != nil && r.Full:
			return notNow("%s is already promoted in full by %s: %s", p.Name, r.User, r.Reason)
		case r != nil && r.Step >= cs.Step && !req.Full:
			return notNow("%s's step %d is already resumed by %s: %s", p.Name, cs.Step+1, r.User, r.Reason)
		}
		p.Spec.Resume = &ferryv1.Resume{Step: cs.Step, Reason: req.Reason, User: who.User, Full: req.Full}
		return nil
	})
}

// Abort ends the stage's Promotion under way at its current step, recording who and
// why (the admission policy checks the identity): a canary's or a blue-green preview's
// traffic goes back to the stable version, and after the deploy began the stage rolls
// back.
func Abort(ctx context.Context, c client.Client, who Identity, req Request) (*ferryv1.Promotion, error) {
	if req.Reason == "" {
		return nil, fmt.Errorf("an abort needs a reason")
	}
	return patchActive(ctx, c, req, func(p *ferryv1.Promotion) error {
		if p.Spec.Abort != nil {
			return notNow("%s is already aborted by %s: %s", p.Name, p.Spec.Abort.User, p.Spec.Abort.Reason)
		}
		if p.Status.Phase == ferryv1.PromotionRollingBack {
			return notNow("%s is rolling back already", p.Name)
		}
		p.Spec.Abort = &ferryv1.Override{Reason: req.Reason, User: who.User}
		return nil
	})
}

// patchActive applies change to the Promotion under way in the stage and patches it.
func patchActive(ctx context.Context, c client.Client, req Request, change func(*ferryv1.Promotion) error) (*ferryv1.Promotion, error) {
	list := &ferryv1.PromotionList{}
	if err := c.List(ctx, list, client.InNamespace(req.Namespace), client.MatchingLabels{
		ferryv1.LabelApplication: req.Application, ferryv1.LabelStage: req.Stage}); err != nil {
		return nil, err
	}
	for i := range list.Items {
		p := &list.Items[i]
		if p.Status.Phase == ferryv1.PromotionSucceeded || p.Status.Phase == ferryv1.PromotionFailed || p.Status.Phase == ferryv1.PromotionSuperseded {
			continue
		}
		patch := client.MergeFrom(p.DeepCopy())
		if err := change(p); err != nil {
			return nil, err
		}
		if err := c.Patch(ctx, p, patch); err != nil {
			return nil, fmt.Errorf("patching %s: %w", p.Name, err)
		}
		return p, nil
	}
	return nil, &overrideError{msg: fmt.Sprintf("no promotion of %s is under way in %s", req.Application, req.Stage), kind: ErrNotUnderWay}
}
