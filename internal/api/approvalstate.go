package api

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/promotion"
)

// ApprovalState is GET .../stages/{stage}/approval: where the stage's approval stands
// and whether the caller may decide now, so that a dashboard offers the approve and
// reject buttons only to those the API server would let decide.
type ApprovalState struct {
	// Promotion is the one waiting for approval ("" when none waits).
	Promotion string `json:"promotion"`
	Waiting   bool   `json:"waiting"`
	// Groups are the stage's approver groups; Quorum is how many of them must approve.
	Groups    []string           `json:"groups"`
	Quorum    int                `json:"quorum"`
	Approvals []ferryv1.Approval `json:"approvals"`
	// MayApprove says the caller may approve or reject now; Why says why (not).
	MayApprove bool   `json:"mayApprove"`
	Why        string `json:"why"`
}

// getApproval reads the stage and its waiting Promotion with the server's reader once
// the caller may read them, then asks whether the caller may decide.
func (a *API) getApproval(w http.ResponseWriter, r *http.Request) {
	ns, app, stage := r.PathValue("ns"), r.PathValue("app"), r.PathValue("stage")
	if !a.allow(w, r, Access{Verb: "get", Resource: "applications", Namespace: ns, Name: app},
		Access{Verb: "list", Resource: "promotions", Namespace: ns}) {
		return
	}
	p, err := approval.Find(r.Context(), a.Client, ns, app, stage)
	if errors.Is(err, approval.ErrNoStage) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		a.readFailed(w, r, "application "+ns+"/"+app, err)
		return
	}
	out := ApprovalState{Groups: p.Stage.ApproverGroups, Approvals: []ferryv1.Approval{},
		Quorum: promotion.Approvals(p.Stage, nil).Needed}
	if out.Groups == nil {
		out.Groups = []string{}
	}
	if p.Promotion != nil {
		out.Promotion, out.Waiting = p.Promotion.Name, true
		out.Approvals = append(out.Approvals, p.Promotion.Status.Approvals...)
	}
	u, _ := r.Context().Value(userKey{}).(User)
	out.MayApprove, out.Why, err = a.mayDecide(r, u, p)
	if err != nil {
		a.Log.Printf("%s %s: %v", r.Method, r.URL.Path, err)
		writeError(w, http.StatusServiceUnavailable, "could not check the rights with the Kubernetes API")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// mayDecide says whether u may decide on the stage's waiting Promotion now, and why
// (not), by making u's decision as a server-side dry run through the client acting as
// u: the same checks as `ferry approve` (an approver group not yet counted, not decided
// yet), then the API server's RBAC and admission policy, without recording anything.
func (a *API) mayDecide(r *http.Request, u User, p approval.Pending) (bool, string, error) {
	if p.Promotion == nil {
		return false, "no promotion waits for approval in " + p.Stage.Name, nil
	}
	if a.Impersonate == nil {
		return false, "this server makes no decisions (it cannot act as its users)", nil
	}
	c, err := a.Impersonate(u)
	if err != nil {
		return false, "", fmt.Errorf("a client as %s: %w", quote(u.Name), err)
	}
	req := approval.Request{Namespace: r.PathValue("ns"), Application: r.PathValue("app"), Stage: r.PathValue("stage"),
		Decision: ferryv1.DecisionApprove}
	d, err := approval.Decide(r.Context(), c, approval.Identity{User: u.Name, Groups: u.Groups}, req, client.DryRunAll)
	switch {
	case err == nil:
		return true, fmt.Sprintf("%s may approve or reject as %s", u.Name, d.Spec.Group), nil
	case refusal(err):
		return false, err.Error(), nil
	}
	return false, "", err
}

// refusal is an error that answers the question (this person may not decide), rather
// than one that kept it from being asked.
func refusal(err error) bool {
	for _, kind := range []error{approval.ErrNoStage, approval.ErrNotWaiting, approval.ErrNotApprover, approval.ErrAlreadyDecided} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsInvalid(err)
}
