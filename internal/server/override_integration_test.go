//go:build integration

package server_test

import (
	"context"
	"net/http"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/api"
)

// TestAbortThroughTheAPI: a person named by the authenticating proxy aborts the
// Promotion under way in prod through the API, the server acting as them, so the
// admission policy accepts the abort recorded in their name. A reader who may not patch
// Promotions is refused by the API server, as are a body without a reason and one not
// sent as JSON; a second abort, an abort where nothing runs and a resume of a Promotion
// that runs no canary are conflicts.
func TestAbortThroughTheAPI(t *testing.T) {
	e := startApprovalEnv(t)
	e.env.Grant(t, "ferry-aborter", []rbacv1.PolicyRule{{APIGroups: []string{"ferry.dev"}, Resources: []string{"promotions"},
		Verbs: []string{"get", "list", "patch"}}}, "ops")
	ops := []string{"ops"}

	refused(t, "no reason", e.as(t, http.MethodPost, "prod/abort", "olga", ops, `{}`), http.StatusBadRequest, "a reason is required")
	refused(t, "unknown field", e.as(t, http.MethodPost, "prod/abort", "olga", ops, `{"reason": "x", "force": true}`), http.StatusBadRequest, `unknown field "force"`)
	refused(t, "a reader", e.as(t, http.MethodPost, "prod/abort", "sam", []string{"sre"}, `{"reason": "stop"}`), http.StatusForbidden, "cannot patch resource")
	refused(t, "full with an abort", e.as(t, http.MethodPost, "prod/abort", "olga", ops, `{"reason": "x", "full": true}`), http.StatusBadRequest, "full goes with a resume")
	refused(t, "nothing in dev", e.as(t, http.MethodPost, "dev/abort", "olga", ops, `{"reason": "stop"}`), http.StatusConflict, "no promotion of shop is under way in dev")

	got := decode[api.Override](t, "abort", e.as(t, http.MethodPost, "prod/abort", "olga", ops, `{"reason": "wrong build"}`))
	if got != (api.Override{Namespace: "team", Application: "shop", Stage: "prod", Promotion: "shop-1-0-0-prod", Action: "abort", User: "olga", Reason: "wrong build"}) {
		t.Errorf("abort answered %+v", got)
	}
	p := &ferryv1.Promotion{}
	must(t, e.admin.Get(context.Background(), client.ObjectKey{Namespace: "team", Name: "shop-1-0-0-prod"}, p))
	if p.Spec.Abort == nil || *p.Spec.Abort != (ferryv1.Override{User: "olga", Reason: "wrong build"}) {
		t.Errorf("spec.abort %+v", p.Spec.Abort)
	}
	refused(t, "again", e.as(t, http.MethodPost, "prod/abort", "olga", ops, `{"reason": "really"}`), http.StatusConflict, "shop-1-0-0-prod is already aborted by olga: wrong build")
	refused(t, "resume without a canary", e.as(t, http.MethodPost, "prod/resume", "olga", ops, `{"reason": "go on"}`), http.StatusConflict, "runs no canary step")

	req, err := http.NewRequest(http.MethodPost, e.url+"prod/abort", nil)
	must(t, err)
	req.Header.Set("X-Forwarded-User", "olga")
	req.Header.Set("X-Forwarded-Groups", "ops")
	req.Header.Set(api.ProxySecretHeader, proxySecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := do(t, req)
	refused(t, "a form", r, http.StatusBadRequest, "send Content-Type: application/json")
}
