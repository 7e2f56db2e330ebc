package approval

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// OverrideFreeze lets the Promotion held by a freeze window in the stage go on: it
// records who decided and why in the Promotion's spec, which the API server's admission
// policy checks against the request's identity.
func OverrideFreeze(ctx context.Context, c client.Client, who Identity, req Request) (*ferryv1.Promotion, error) {
	if req.Reason == "" {
		return nil, fmt.Errorf("a freeze override needs a reason")
	}
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
		if p.Spec.FreezeOverride != nil {
			return nil, fmt.Errorf("%s already has a freeze override by %s: %s", p.Name, p.Spec.FreezeOverride.User, p.Spec.FreezeOverride.Reason)
		}
		patch := client.MergeFrom(p.DeepCopy())
		p.Spec.FreezeOverride = &ferryv1.Override{Reason: req.Reason, User: who.User}
		if err := c.Patch(ctx, p, patch); err != nil {
			return nil, fmt.Errorf("overriding the freeze for %s: %w", p.Name, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("no promotion of %s is under way in %s", req.Application, req.Stage)
}
