package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
)

// TestDecisionBody: the body is one JSON object of reason and group (or nothing, to
// approve), sent as JSON; anything else, or a rejection without a reason, is a 400's
// message.
func TestDecisionBody(t *testing.T) {
	for _, tc := range []struct {
		body     string
		decision ferryv1.Decision
		want     DecisionRequest
		err      string
		plain    bool // sent as text/plain, as a cross-site form can
	}{
		{body: `{"reason": "tested on stage", "group": "sre"}`, decision: ferryv1.DecisionApprove, want: DecisionRequest{"tested on stage", "sre"}},
		{body: ``, decision: ferryv1.DecisionApprove},
		{body: `{}`, decision: ferryv1.DecisionReject, err: "a rejection needs a reason"},
		{body: `{"reason": "breaks checkout"}`, decision: ferryv1.DecisionReject, want: DecisionRequest{Reason: "breaks checkout"}},
		{body: `{"reason": 3}`, decision: ferryv1.DecisionApprove, err: "body: expected JSON"},
		{body: `{"user": "someone-else"}`, decision: ferryv1.DecisionApprove, err: `unknown field "user"`},
		{body: `{} {}`, decision: ferryv1.DecisionApprove, err: "one JSON object"},
		{body: `{"reason": "` + strings.Repeat("x", maxDecisionBody) + `"}`, decision: ferryv1.DecisionApprove, err: "too large"},
		{body: `{"reason": "from another site"}`, decision: ferryv1.DecisionApprove, plain: true, err: "Content-Type: application/json"},
		{body: ``, decision: ferryv1.DecisionApprove, plain: true, err: "Content-Type: application/json"},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		if tc.plain {
			req.Header.Set("Content-Type", "text/plain")
		}
		got, err := decisionBody(rec, req, tc.decision)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("%.40s: %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%.40s: %v, want an error saying %q", tc.body, err, tc.err)
		}
	}
}

// TestDecisionFailures: each reason a decision was not recorded has its status, and
// the message says it.
func TestDecisionFailures(t *testing.T) {
	gr := schema.GroupResource{Group: "ferry.dev", Resource: "approvaldecisions"}
	for _, tc := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("application team/shop: %w", apierrors.NewNotFound(schema.GroupResource{Group: "ferry.dev", Resource: "applications"}, "shop")), http.StatusNotFound},
		{approval.ErrNoStage, http.StatusNotFound},
		{approval.ErrNotWaiting, http.StatusConflict},
		{approval.ErrAlreadyDecided, http.StatusConflict},
		{approval.ErrNotApprover, http.StatusForbidden},
		{apierrors.NewForbidden(gr, "", errors.New(`User "eve" cannot create resource "approvaldecisions"`)), http.StatusForbidden},
		{apierrors.NewInvalid(schema.GroupKind{Group: "ferry.dev", Kind: "ApprovalDecision"}, "x", nil), http.StatusBadRequest},
		{apierrors.NewInternalError(errors.New("etcd is down")), http.StatusBadGateway},
		{errors.New("connection refused"), http.StatusBadGateway},
	} {
		a := &API{}
		a.Handler() // its defaults
		rec := httptest.NewRecorder()
		a.decisionFailed(rec, httptest.NewRequest(http.MethodPost, "/", nil), tc.err)
		var body errorBody
		if rec.Code != tc.status || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error == "" {
			t.Errorf("%v: %d %s, want %d", tc.err, rec.Code, rec.Body, tc.status)
		}
	}
}

// TestDecisionWithoutImpersonation: a server that cannot act as its users records
// nothing and says so.
func TestDecisionWithoutImpersonation(t *testing.T) {
	a := &API{Proxy: &ProxyAuth{UserHeader: "X-Forwarded-User", Secret: []byte("s3cret")}}
	req := httptest.NewRequest(http.MethodPost, Prefix+"namespaces/team/applications/shop/stages/prod/approve", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-User", "ann")
	req.Header.Set(ProxySecretHeader, "s3cret")
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "makes no decisions") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}
