//go:build integration

package install

import (
	"context"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"ferry.dev/ferry/internal/testenv"
)

// TestServerMayDoItsDutiesAlone: once installed, the ferry-server ServiceAccount may
// review tokens and rights, impersonate a person, and read Ferry's objects and Events,
// as the API server's RBAC says; it may not change what only the controller and people
// change. Applying twice changes nothing.
func TestServerMayDoItsDutiesAlone(t *testing.T) {
	rc := testenv.Start(t)
	ctx := context.Background()
	for range 2 {
		if _, err := Server(ctx, rc, "ferry-system"); err != nil {
			t.Fatal(err)
		}
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	may := func(group, resource, subresource, verb, ns string) bool {
		t.Helper()
		sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User:               "system:serviceaccount:ferry-system:ferry-server",
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:ferry-system", "system:authenticated"},
			ResourceAttributes: &authzv1.ResourceAttributes{Group: group, Resource: resource, Subresource: subresource, Verb: verb, Namespace: ns},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sar.Status.Allowed
	}
	for _, a := range []struct {
		group, resource, subresource, verb, ns string
		want                                   bool
	}{
		{"authentication.k8s.io", "tokenreviews", "", "create", "", true},
		{"authorization.k8s.io", "subjectaccessreviews", "", "create", "", true},
		{"", "users", "", "impersonate", "", true},
		{"", "groups", "", "impersonate", "", true},
		{"", "serviceaccounts", "", "impersonate", "team", true},
		{"authentication.k8s.io", "userextras", "authentication.kubernetes.io/credential-id", "impersonate", "", true},
		{"authentication.k8s.io", "uids", "", "impersonate", "", true},
		{"ferry.dev", "promotions", "", "watch", "team", true},
		{"ferry.dev", "approvaldecisions", "", "list", "team", true},
		{"ferry.dev", "changerecords", "", "get", "team", true},
		{"", "events", "", "list", "team", true},
		{"events.k8s.io", "events", "", "watch", "team", true},
		{"ferry.dev", "approvaldecisions", "", "create", "team", false}, // only as the person
		{"ferry.dev", "promotions", "status", "update", "team", false},
		{"ferry.dev", "applications", "", "delete", "team", false},
		{"", "secrets", "", "list", "team", false},
		{"", "pods", "", "create", "team", false},
	} {
		if got := may(a.group, a.resource, a.subresource, a.verb, a.ns); got != a.want {
			t.Errorf("%s %s.%s/%s in %q: allowed %v, want %v", a.verb, a.resource, a.group, a.subresource, a.ns, got, a.want)
		}
	}
}
