// Package rollback starts a person's return of a stage to a Release verified there
// before (`ferry rollback APP STAGE [--to VERSION]`): it picks the Release, refuses a
// stage that has nowhere to return to, and creates the rollback Promotion, which the
// controller carries out without upstream or approval steps.
package rollback

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/promotion"
)

// Request is one rollback to start.
type Request struct {
	Namespace   string
	Application string
	Stage       string
	// Version is the version to return to (default: the one verified before the
	// stage's current one).
	Version string
	Reason  string
	// User is who asks, as the API server identified them.
	User string
}

// Start creates the rollback Promotion and returns it.
func Start(ctx context.Context, c client.Client, req Request) (*ferryv1.Promotion, error) {
	app := &ferryv1.Application{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: req.Application}, app); err != nil {
		return nil, fmt.Errorf("application %s/%s: %w", req.Namespace, req.Application, err)
	}
	if err := hasStage(app, req.Stage); err != nil {
		return nil, err
	}
	proms := &ferryv1.PromotionList{}
	if err := c.List(ctx, proms, client.InNamespace(req.Namespace), client.MatchingLabels{
		ferryv1.LabelApplication: req.Application, ferryv1.LabelStage: req.Stage}); err != nil {
		return nil, err
	}
	target, err := promotion.RollbackTarget(proms.Items, req.Application, req.Stage, req.Version)
	if err != nil {
		return nil, err
	}
	rel := &ferryv1.Release{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: target}, rel); err != nil {
		return nil, fmt.Errorf("release %s: %w", target, err)
	}
	p := &ferryv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: target + "-" + req.Stage + "-rollback-", Namespace: req.Namespace,
			Labels:      map[string]string{ferryv1.LabelApplication: req.Application, ferryv1.LabelRelease: target, ferryv1.LabelStage: req.Stage},
			Annotations: map[string]string{ferryv1.AnnotationVersion: rel.Spec.Version},
		},
		Spec: ferryv1.PromotionSpec{Application: req.Application, Release: target, Stage: req.Stage,
			Rollback: &ferryv1.Override{Reason: req.Reason, User: req.User}},
	}
	if err := c.Create(ctx, p); err != nil {
		return nil, fmt.Errorf("starting the rollback of %s to %s: %w", req.Stage, rel.Spec.Version, err)
	}
	return p, nil
}

func hasStage(app *ferryv1.Application, stage string) error {
	var names []string
	for _, s := range app.Spec.Stages {
		if s.Name == stage {
			return nil
		}
		names = append(names, s.Name)
	}
	return fmt.Errorf("application %s has no stage %q (stages: %v)", app.Name, stage, names)
}
