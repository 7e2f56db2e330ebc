// Package approval records a person's decision on the Promotion waiting for approval in
// a stage: it asks the API server who the caller is, checks they may decide (a member of
// an approver group not yet counted, deciding once), and creates the ApprovalDecision,
// which the API server's admission policy checks again against the request's identity.
package approval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	// Full makes a resume skip every canary step left.
	Full bool
}

// The reasons a decision cannot be made, for callers that answer each differently (the
// REST API's 404, 409 and 403): errors.Is tells them apart, the message says the detail.
var (
	ErrNoStage        = errors.New("no such stage")
	ErrNotWaiting     = errors.New("no promotion waits for approval")
	ErrNotApprover    = errors.New("not an approver")
	ErrAlreadyDecided = errors.New("already decided")
)

// refusal is why a decision cannot be made: its message as it always read, its kind
// for errors.Is.
type refusal struct {
	msg  string
	kind error
}

func (r refusal) Error() string { return r.msg }
func (r refusal) Unwrap() error { return r.kind }

func refuse(kind error, format string, args ...any) error {
	return refusal{msg: fmt.Sprintf(format, args...), kind: kind}
}

// Pending is a stage's approval rule and the Promotion waiting for approval in it.
type Pending struct {
	Stage ferryv1.StageSpec
	// Promotion is nil when none waits.
	Promotion *ferryv1.Promotion
}

// Find reads the application's stage and the Promotion waiting for approval in it, with
// c (the caller's own client, so their read rights apply).
func Find(ctx context.Context, c client.Reader, namespace, application, stage string) (Pending, error) {
	app := &ferryv1.Application{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: application}, app); err != nil {
		return Pending{}, fmt.Errorf("application %s/%s: %w", namespace, application, err)
	}
	var names []string
	for _, s := range app.Spec.Stages {
		names = append(names, s.Name)
		if s.Name == stage {
			prom, err := waiting(ctx, c, namespace, application, stage)
			return Pending{Stage: s, Promotion: prom}, err
		}
	}
	return Pending{}, refuse(ErrNoStage, "application %s has no stage %q (stages: %v)", app.Name, stage, names)
}

// Check returns the approver group who would decide as on the waiting Promotion (group,
// when set, is the one they ask for), or why they may not: the same check for the CLI
// and for the REST API, before the admission policy checks the identity again.
func (p Pending) Check(who Identity, group string) (string, error) {
	if p.Promotion == nil {
		return "", refuse(ErrNotWaiting, "no promotion waits for approval in %s", p.Stage.Name)
	}
	groups := who.Groups
	if group != "" {
		if !slices.Contains(who.Groups, group) {
			return "", refuse(ErrNotApprover, "%s is not in group %s", who.User, group)
		}
		groups = []string{group}
	}
	for _, a := range p.Promotion.Status.Approvals {
		if a.User == who.User {
			return "", refuse(ErrAlreadyDecided, "%s has already approved (as %s)", who.User, a.Group)
		}
	}
	g, err := promotion.CanApprove(p.Stage, p.Promotion.Status.Approvals, who.User, groups)
	if err != nil {
		return "", refusal{msg: err.Error(), kind: ErrNotApprover}
	}
	return g, nil
}

// Decide records the decision of who on the Promotion waiting in the stage, with c: the
// caller's own client, or one impersonating them. With client.DryRunAll it records
// nothing and says whether the decision would be recorded: the API server's RBAC and
// admission policy judge it as they would the real one.
func Decide(ctx context.Context, c client.Client, who Identity, req Request, opts ...client.CreateOption) (*ferryv1.ApprovalDecision, error) {
	p, err := Find(ctx, c, req.Namespace, req.Application, req.Stage)
	if err != nil {
		return nil, err
	}
	if p.Promotion == nil {
		return nil, refuse(ErrNotWaiting, "no promotion of %s waits for approval in %s", req.Application, req.Stage)
	}
	group, err := p.Check(who, req.Group)
	if err != nil {
		return nil, err
	}
	d := &ferryv1.ApprovalDecision{
		ObjectMeta: metav1.ObjectMeta{Name: Name(p.Promotion.Name, who.User), Namespace: req.Namespace,
			Labels: map[string]string{ferryv1.LabelApplication: req.Application, ferryv1.LabelStage: p.Stage.Name}},
		Spec: ferryv1.ApprovalDecisionSpec{Promotion: p.Promotion.Name, User: who.User, Group: group, Decision: req.Decision, Reason: req.Reason},
	}
	if err := c.Create(ctx, d, opts...); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, refuse(ErrAlreadyDecided, "%s has already decided on %s", who.User, p.Promotion.Name)
		}
		return nil, err
	}
	return d, nil
}

// waiting finds the Promotion of the application waiting for approval in the stage
// (nil when none waits).
func waiting(ctx context.Context, c client.Reader, namespace, application, stage string) (*ferryv1.Promotion, error) {
	list := &ferryv1.PromotionList{}
	if err := c.List(ctx, list, client.InNamespace(namespace), client.MatchingLabels{
		ferryv1.LabelApplication: application, ferryv1.LabelStage: stage}); err != nil {
		return nil, fmt.Errorf("promotions of %s/%s: %w", namespace, application, err)
	}
	for i, p := range list.Items {
		if p.Status.Phase == ferryv1.PromotionWaitingApproval {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

// Name is the one decision a user can make on a Promotion: a fixed name makes a second
// one collide.
func Name(promotion, user string) string {
	h := sha256.Sum256([]byte(user))
	return promotion + "-" + hex.EncodeToString(h[:5])
}
