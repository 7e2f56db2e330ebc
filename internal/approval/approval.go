// Package approval records a person's decision on the Promotion waiting for approval in
// a stage: it asks the API server who the caller is, checks they may decide (a member of
// an approver group not yet counted, deciding once), and creates the ApprovalDecision,
// which the API server's admission policy checks again against the request's identity.
package approval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/promotion"
)

// Identity is who the API server says the caller is.
type Identity struct {
	User   string
	Groups []string
}

// WhoAmI asks the API server (SelfSubjectReview) who the credentials in rc belong to.
func WhoAmI(ctx context.Context, rc *rest.Config) (Identity, error) {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return Identity{}, err
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return Identity{}, fmt.Errorf("asking the API server who you are: %w", err)
	}
	return Identity{User: r.Status.UserInfo.Username, Groups: r.Status.UserInfo.Groups}, nil
}

// Request is one decision to record.
type Request struct {
	Namespace   string
	Application string
	Stage       string
	Decision    ferryv1.Decision
	// Group is the approver group to decide as (default: the first one the user may use).
	Group  string
	Reason string
}

// Decide records the decision of who on the Promotion waiting in the stage.
func Decide(ctx context.Context, c client.Client, who Identity, req Request) (*ferryv1.ApprovalDecision, error) {
	app := &ferryv1.Application{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: req.Application}, app); err != nil {
		return nil, fmt.Errorf("application %s/%s: %w", req.Namespace, req.Application, err)
	}
	var stage *ferryv1.StageSpec
	var names []string
	for i, s := range app.Spec.Stages {
		names = append(names, s.Name)
		if s.Name == req.Stage {
			stage = &app.Spec.Stages[i]
		}
	}
	if stage == nil {
		return nil, fmt.Errorf("application %s has no stage %q (stages: %v)", app.Name, req.Stage, names)
	}
	prom, err := waiting(ctx, c, req)
	if err != nil {
		return nil, err
	}
	groups := who.Groups
	if req.Group != "" {
		if !slices.Contains(who.Groups, req.Group) {
			return nil, fmt.Errorf("%s is not in group %s", who.User, req.Group)
		}
		groups = []string{req.Group}
	}
	group, err := promotion.CanApprove(*stage, prom.Status.Approvals, who.User, groups)
	if err != nil {
		return nil, err
	}
	d := &ferryv1.ApprovalDecision{
		ObjectMeta: metav1.ObjectMeta{Name: Name(prom.Name, who.User), Namespace: req.Namespace,
			Labels: map[string]string{ferryv1.LabelApplication: app.Name, ferryv1.LabelStage: stage.Name}},
		Spec: ferryv1.ApprovalDecisionSpec{Promotion: prom.Name, User: who.User, Group: group, Decision: req.Decision, Reason: req.Reason},
	}
	if err := c.Create(ctx, d); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("%s has already decided on %s", who.User, prom.Name)
		}
		return nil, err
	}
	return d, nil
}

// waiting finds the Promotion of the application waiting for approval in the stage.
func waiting(ctx context.Context, c client.Client, req Request) (*ferryv1.Promotion, error) {
	list := &ferryv1.PromotionList{}
	if err := c.List(ctx, list, client.InNamespace(req.Namespace), client.MatchingLabels{
		ferryv1.LabelApplication: req.Application, ferryv1.LabelStage: req.Stage}); err != nil {
		return nil, err
	}
	for i, p := range list.Items {
		if p.Status.Phase == ferryv1.PromotionWaitingApproval {
			return &list.Items[i], nil
		}
	}
	return nil, fmt.Errorf("no promotion of %s waits for approval in %s", req.Application, req.Stage)
}

// Name is the one decision a user can make on a Promotion: a fixed name makes a second
// one collide.
func Name(promotion, user string) string {
	h := sha256.Sum256([]byte(user))
	return promotion + "-" + hex.EncodeToString(h[:5])
}
