package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
)

// maxDecisionBody bounds a decision's body: a reason is at most 1,024 characters.
const maxDecisionBody = 16 << 10

// DecisionRequest is the body of POST .../approve and .../reject.
type DecisionRequest struct {
	// Reason says why; required to reject.
	Reason string `json:"reason"`
	// Group is the approver group to decide as (default: the first the user may use).
	Group string `json:"group"`
}

// Decision is what POST .../approve and .../reject recorded.
type Decision struct {
	// Name is the ApprovalDecision's.
	Name        string           `json:"name"`
	Namespace   string           `json:"namespace"`
	Application string           `json:"application"`
	Stage       string           `json:"stage"`
	Promotion   string           `json:"promotion"`
	User        string           `json:"user"`
	Group       string           `json:"group"`
	Decision    ferryv1.Decision `json:"decision"`
	Reason      string           `json:"reason,omitempty"`
}

// decide records the user's decision on the Promotion waiting in the stage, through a
// client impersonating them: the API server's RBAC (create on approvaldecisions) and
// its admission policy judge the person themselves, and nothing is answered 200 that
// the API server did not store.
func (a *API) decide(d ferryv1.Decision) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := decisionBody(w, r, d)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		c, u, ok := a.asCaller(w, r)
		if !ok {
			return
		}
		req := approval.Request{Namespace: r.PathValue("ns"), Application: r.PathValue("app"), Stage: r.PathValue("stage"),
			Decision: d, Group: body.Group, Reason: body.Reason}
		rec, err := approval.Decide(r.Context(), c, approval.Identity{User: u.Name, Groups: u.Groups}, req)
		if err != nil {
			a.decisionFailed(w, r, err)
			return
		}
		a.Log.Printf("%s %s: %s recorded %s as %s (%s)", r.Method, r.URL.Path, quote(u.Name), rec.Spec.Decision, rec.Spec.Group, rec.Name)
		writeJSON(w, http.StatusOK, Decision{Name: rec.Name, Namespace: rec.Namespace, Application: req.Application, Stage: req.Stage,
			Promotion: rec.Spec.Promotion, User: rec.Spec.User, Group: rec.Spec.Group, Decision: rec.Spec.Decision, Reason: rec.Spec.Reason})
	}
}

// asCaller is a client impersonating the request's user, who is returned too; without
// one it answers 503 itself and ok is false.
func (a *API) asCaller(w http.ResponseWriter, r *http.Request) (c client.Client, u User, ok bool) {
	if a.Impersonate == nil {
		writeError(w, http.StatusServiceUnavailable, "this server makes no decisions (it cannot act as its users)")
		return nil, u, false
	}
	u, _ = r.Context().Value(userKey{}).(User)
	c, err := a.Impersonate(u)
	if err != nil {
		a.Log.Printf("%s %s: a client as %s: %v", r.Method, r.URL.Path, quote(u.Name), err)
		writeError(w, http.StatusServiceUnavailable, "could not act as the user")
		return nil, u, false
	}
	return c, u, true
}

// decisionBody reads the JSON body (an empty one is no reason and no group); a
// rejection needs a reason. The body must say it is JSON: a browser sends that
// cross-site only after a CORS preflight, so another site cannot make a signed-in
// person's browser decide through the authenticating proxy.
func decisionBody(w http.ResponseWriter, r *http.Request, d ferryv1.Decision) (DecisionRequest, error) {
	var body DecisionRequest
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return body, errors.New("body: send Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxDecisionBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		return body, errors.New(`body: expected JSON {"reason": "...", "group": "..."}: ` + err.Error())
	}
	if dec.More() {
		return body, errors.New("body: expected one JSON object")
	}
	if d == ferryv1.DecisionReject && body.Reason == "" {
		return body, errors.New("a rejection needs a reason")
	}
	return body, nil
}

// decisionFailed answers why a decision, an abort or a resume was not recorded: 404
// for an unknown application or stage, 409 when nothing waits or runs, the user decided
// already or the Promotion cannot take it now, 403 when the user is no approver or the
// API server refused them, 400 for what the API server found invalid.
func (a *API) decisionFailed(w http.ResponseWriter, r *http.Request, err error) {
	a.Log.Printf("%s %s: %v", r.Method, r.URL.Path, err)
	var status apierrors.APIStatus
	switch {
	case errors.Is(err, approval.ErrNoStage) || apierrors.IsNotFound(err):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, approval.ErrNotWaiting) || errors.Is(err, approval.ErrAlreadyDecided) ||
		errors.Is(err, approval.ErrNotUnderWay) || errors.Is(err, approval.ErrNotNow):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, approval.ErrNotApprover) || apierrors.IsForbidden(err):
		writeError(w, http.StatusForbidden, err.Error())
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.As(err, &status):
		writeError(w, http.StatusBadGateway, "recording it: "+status.Status().Message)
	default:
		writeError(w, http.StatusBadGateway, "recording it: the Kubernetes API did not answer")
	}
}
