package api

import (
	"context"
	"errors"
	"fmt"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// User is who a token belongs to, as the API server said.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// Access is one read the API makes for a user.
type Access struct {
	Verb      string // get or list
	Resource  string // a ferry.dev resource: applications, releases, promotions
	Namespace string
	Name      string // for get
}

func (a Access) String() string {
	return fmt.Sprintf("%s %s.%s in namespace %q", a.Verb, a.Resource, ferryv1.GroupVersion.Group, a.Namespace)
}

// ErrUnauthenticated is a token the API server refused: bad, expired, or of a deleted
// ServiceAccount.
var ErrUnauthenticated = errors.New("the token was refused")

// Reviewer checks tokens and rights; the API server does both for the API.
type Reviewer interface {
	// Authenticate returns the token's user, or ErrUnauthenticated (wrapped).
	Authenticate(ctx context.Context, token string) (User, error)
	// Authorize says whether the user may make the read, and if not why.
	Authorize(ctx context.Context, u User, a Access) (bool, string, error)
}

// KubeReviews asks the API server with TokenReviews and SubjectAccessReviews, as the
// server's own identity (which needs create on both: the system:auth-delegator role).
type KubeReviews struct {
	Client kubernetes.Interface
}

// Authenticate makes a TokenReview for the API server's own audiences.
func (k KubeReviews) Authenticate(ctx context.Context, token string) (User, error) {
	tr, err := k.Client.AuthenticationV1().TokenReviews().Create(ctx,
		&authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return User{}, fmt.Errorf("token review: %w", err)
	}
	if !tr.Status.Authenticated {
		return User{}, ErrUnauthenticated // Status.Error may describe the token: not for the caller
	}
	u := User{Name: tr.Status.User.Username, UID: tr.Status.User.UID, Groups: tr.Status.User.Groups}
	if len(tr.Status.User.Extra) > 0 {
		u.Extra = map[string][]string{}
		for k, v := range tr.Status.User.Extra {
			u.Extra[k] = v
		}
	}
	return u, nil
}

// Authorize makes a SubjectAccessReview of a ferry.dev resource.
func (k KubeReviews) Authorize(ctx context.Context, u User, a Access) (bool, string, error) {
	extra := map[string]authzv1.ExtraValue{}
	for k, v := range u.Extra {
		extra[k] = v
	}
	sar, err := k.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{
		Spec: authzv1.SubjectAccessReviewSpec{
			User: u.Name, UID: u.UID, Groups: u.Groups, Extra: extra,
			ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: a.Namespace, Verb: a.Verb, Group: ferryv1.GroupVersion.Group, Resource: a.Resource, Name: a.Name,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("subject access review: %w", err)
	}
	return sar.Status.Allowed && !sar.Status.Denied, sar.Status.Reason, nil
}
