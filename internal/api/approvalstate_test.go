package api

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"ferry.dev/ferry/internal/approval"
)

// TestRefusalAnswersTheQuestion: a dry-run decision refused for who the caller is (no
// approver, decided already, no right, the admission policy) is a "may not" with its
// reason; a failure to ask is not, and the route answers 503 for it.
func TestRefusalAnswersTheQuestion(t *testing.T) {
	gr := schema.GroupResource{Group: "ferry.dev", Resource: "approvaldecisions"}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", approval.ErrNotApprover), true},
		{approval.ErrAlreadyDecided, true},
		{approval.ErrNotWaiting, true},
		{apierrors.NewForbidden(gr, "", errors.New(`User "dan" cannot create resource "approvaldecisions"`)), true},
		{fmt.Errorf("application team/shop: %w", apierrors.NewNotFound(gr, "shop")), true},
		{apierrors.NewServiceUnavailable("etcd is down"), false},
		{errors.New("connection refused"), false},
	} {
		if got := refusal(tc.err); got != tc.want {
			t.Errorf("%v: refusal %v, want %v", tc.err, got, tc.want)
		}
	}
}
