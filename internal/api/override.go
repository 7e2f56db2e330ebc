package api

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
)

// OverrideRequest is the body of POST .../abort and .../resume.
type OverrideRequest struct {
	// Reason says why; required.
	Reason string `json:"reason"`
	// Full makes a resume skip every canary step left.
	Full bool `json:"full"`
}

// Override is what POST .../abort and .../resume recorded on the stage's Promotion.
type Override struct {
	Namespace   string `json:"namespace"`
	Application string `json:"application"`
	Stage       string `json:"stage"`
	Promotion   string `json:"promotion"`
	// Action is abort or resume.
	Action string `json:"action"`
	User   string `json:"user"`
	Reason string `json:"reason"`
}

// overrider records a person's override on the stage's running Promotion.
type overrider func(context.Context, client.Client, approval.Identity, approval.Request) (*ferryv1.Promotion, error)

// override records the user's abort or resume of the Promotion under way in the stage,
// through a client impersonating them, as `ferry abort` and `ferry resume` do: the API
// server's RBAC (patch on promotions) and its admission policy (the recorded user is
// the caller) judge the person themselves.
func (a *API) override(action string, record overrider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := overrideBody(w, r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		c, u, ok := a.asCaller(w, r)
		if !ok {
			return
		}
		if body.Full && action != "resume" {
			writeError(w, http.StatusBadRequest, "full goes with a resume")
			return
		}
		req := approval.Request{Namespace: r.PathValue("ns"), Application: r.PathValue("app"), Stage: r.PathValue("stage"), Reason: body.Reason, Full: body.Full}
		p, err := record(r.Context(), c, approval.Identity{User: u.Name, Groups: u.Groups}, req)
		if err != nil {
			a.decisionFailed(w, r, err)
			return
		}
		a.Log.Printf("%s %s: %s recorded %s on %s", r.Method, r.URL.Path, quote(u.Name), action, p.Name)
		writeJSON(w, http.StatusOK, Override{Namespace: req.Namespace, Application: req.Application, Stage: req.Stage,
			Promotion: p.Name, Action: action, User: u.Name, Reason: body.Reason})
	}
}

// overrideBody reads the JSON body, which must say it is JSON (see decisionBody) and
// give a reason.
func overrideBody(w http.ResponseWriter, r *http.Request) (OverrideRequest, error) {
	var body OverrideRequest
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return body, errors.New("body: send Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxDecisionBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return body, errors.New(`body: expected JSON {"reason": "..."}: ` + err.Error())
	}
	if dec.More() {
		return body, errors.New("body: expected one JSON object")
	}
	if body.Reason == "" {
		return body, errors.New("a reason is required")
	}
	if len(body.Reason) > 1024 {
		return body, errors.New("the reason is longer than 1,024 characters")
	}
	return body, nil
}
