package dora

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// ErrTooMany says a bounded Read met more objects than it may read: the figures of a
// partial history would be wrong, so none are given.
var ErrTooMany = errors.New("too many objects to read")

// Read reads the application's Promotions and Releases and computes the figures of
// the stage (the application's last when empty) over [from, to). A positive limit bounds
// each list, for a server answering many callers; beyond it Read fails with ErrTooMany.
func Read(ctx context.Context, c client.Reader, ns, app, stage string, from, to time.Time, limit int64) (Figures, error) {
	if stage == "" {
		a := &ferryv1.Application{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: app}, a); err != nil {
			return Figures{}, fmt.Errorf("application %s/%s: %w", ns, app, err)
		}
		if len(a.Spec.Stages) == 0 {
			return Figures{}, fmt.Errorf("application %s/%s has no stages", ns, app)
		}
		stage = a.Spec.Stages[len(a.Spec.Stages)-1].Name
	}
	opts := []client.ListOption{client.InNamespace(ns), client.MatchingLabels{ferryv1.LabelApplication: app}}
	if limit > 0 {
		opts = append(opts, client.Limit(limit))
	}
	proms := &ferryv1.PromotionList{}
	if err := c.List(ctx, proms, append(opts, client.MatchingLabels{ferryv1.LabelStage: stage})...); err != nil {
		return Figures{}, err
	}
	rels := &ferryv1.ReleaseList{}
	if err := c.List(ctx, rels, opts...); err != nil {
		return Figures{}, err
	}
	// Only a bounded list can have been cut (a controller-runtime cache marks every
	// list as having more).
	if limit > 0 && (proms.Continue != "" || rels.Continue != "") {
		return Figures{}, fmt.Errorf("application %s/%s has over %d promotions or releases: %w", ns, app, limit, ErrTooMany)
	}
	changed := map[string]time.Time{}
	for _, r := range rels.Items {
		changed[r.Name] = r.CreationTimestamp.Time
		if g := r.Spec.Git; g != nil && g.CommittedAt != nil {
			changed[r.Name] = g.CommittedAt.Time
		}
	}
	return Compute(proms.Items, changed, app, stage, from, to), nil
}
