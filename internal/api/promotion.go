package api

import (
	"context"
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// maxEvents bounds the Events read for one Promotion: the controller records a few per
// step, so more are a fault, not history.
const maxEvents = 500

// PromotionDetail is GET .../promotions/{name}: the Promotion as stored, its
// checkpoints, approvals, analyses and hooks included, without the object's
// bookkeeping (managed fields, resource version, outbox), with its Events and its
// change record.
type PromotionDetail struct {
	Name      string      `json:"name"`
	Namespace string      `json:"namespace"`
	Created   metav1.Time `json:"created"`
	// Application, Stage and Version say what the Promotion brings where.
	Application string                  `json:"application"`
	Stage       string                  `json:"stage"`
	Version     string                  `json:"version,omitempty"`
	Spec        ferryv1.PromotionSpec   `json:"spec"`
	Status      ferryv1.PromotionStatus `json:"status"`
	// Events are the Kubernetes Events recorded on the Promotion, oldest first.
	Events []PromotionEvent `json:"events"`
	// ChangeRecord is the Promotion's change record, when its stage keeps them and the
	// caller may get it.
	ChangeRecord *ChangeRecordSummary `json:"changeRecord,omitempty"`
}

// PromotionEvent is one Kubernetes Event.
type PromotionEvent struct {
	Time    metav1.Time `json:"time"`
	Type    string      `json:"type"`
	Reason  string      `json:"reason"`
	Message string      `json:"message"`
	// Count is how many times it happened, when more than once.
	Count int32 `json:"count,omitempty"`
}

// ChangeRecordSummary is the change record of a production deployment.
type ChangeRecordSummary struct {
	Name string `json:"name"`
	// Result is Open until the Promotion ends.
	Result   ferryv1.ChangeResult `json:"result,omitempty"`
	OpenedAt metav1.Time          `json:"openedAt"`
	ClosedAt *metav1.Time         `json:"closedAt,omitempty"`
	Message  string               `json:"message,omitempty"`
	Commit   string               `json:"commit,omitempty"`
	RepoURL  string               `json:"repoURL,omitempty"`
	// Approvers approved the change into the stage.
	Approvers []ferryv1.Approval `json:"approvers,omitempty"`
	// ServiceNow is the change request kept in ServiceNow, if any.
	ServiceNow *ferryv1.ExternalChange `json:"serviceNow,omitempty"`
}

// getPromotion is one Promotion with its Events (shown to whoever may get it, as its
// own record) and its change record (when the caller may get that too).
func (a *API) getPromotion(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	if !a.allow(w, r, Access{Verb: "get", Resource: "promotions", Namespace: ns, Name: name}) {
		return
	}
	p := &ferryv1.Promotion{}
	if err := a.Client.Get(r.Context(), client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
		a.readFailed(w, r, "promotion "+ns+"/"+name, err)
		return
	}
	out := PromotionDetail{Name: p.Name, Namespace: p.Namespace, Created: p.CreationTimestamp, Application: p.Spec.Application,
		Stage: p.Spec.Stage, Version: p.Annotations[ferryv1.AnnotationVersion], Spec: p.Spec, Status: p.Status}
	var err error
	if out.Events, err = a.promotionEvents(r.Context(), p); err != nil {
		a.readFailed(w, r, "events of promotion "+ns+"/"+name, err)
		return
	}
	if a.may(r, Access{Verb: "get", Resource: "changerecords", Namespace: ns, Name: name}) {
		if out.ChangeRecord, err = a.changeRecord(r.Context(), ns, name); err != nil {
			a.readFailed(w, r, "change record "+ns+"/"+name, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// promotionEvents are the Events whose object is this Promotion (by uid, so not those
// of a deleted one of the same name), oldest first.
func (a *API) promotionEvents(ctx context.Context, p *ferryv1.Promotion) ([]PromotionEvent, error) {
	sel := fields.Set{"involvedObject.kind": "Promotion", "involvedObject.name": p.Name, "involvedObject.uid": string(p.UID)}
	list, err := a.Kube.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel.String(), Limit: maxEvents})
	if err != nil {
		return nil, err
	}
	out := make([]PromotionEvent, 0, len(list.Items))
	for i := range list.Items {
		e := &list.Items[i]
		pe := PromotionEvent{Time: eventTime(e), Type: e.Type, Reason: e.Reason, Message: e.Message}
		if e.Count > 1 {
			pe.Count = e.Count
		}
		out = append(out, pe)
	}
	slices.SortStableFunc(out, func(a, b PromotionEvent) int { return a.Time.Compare(b.Time.Time) })
	return out, nil
}

// eventTime is when an Event last happened, from whichever of its times its recorder
// set (events.k8s.io recorders set eventTime and series, core ones the timestamps).
func eventTime(e *corev1.Event) metav1.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return metav1.NewTime(e.Series.LastObservedTime.Time)
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.EventTime.IsZero():
		return metav1.NewTime(e.EventTime.Time)
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp
	}
	return e.CreationTimestamp
}

// changeRecord is the Promotion's change record (named after it), nil when none.
func (a *API) changeRecord(ctx context.Context, ns, name string) (*ChangeRecordSummary, error) {
	rec := &ferryv1.ChangeRecord{}
	if err := a.Direct.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, rec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	if rec.Spec.Promotion != name {
		return nil, nil
	}
	return &ChangeRecordSummary{Name: rec.Name, Result: rec.Status.Result, OpenedAt: rec.Spec.OpenedAt, ClosedAt: rec.Status.ClosedAt,
		Message: rec.Status.Message, Commit: rec.Spec.Commit, RepoURL: rec.Spec.RepoURL, Approvers: rec.Spec.Approvers,
		ServiceNow: rec.Status.ServiceNow}, nil
}

// may says whether the request's user may make the read, for parts of an answer shown
// only to those who may: a refusal or a failed review leaves the part out.
func (a *API) may(r *http.Request, acc Access) bool {
	u, _ := r.Context().Value(userKey{}).(User)
	ok, _, err := a.authorize(r.Context(), u, acc)
	if err != nil {
		a.Log.Printf("%s %s: %v", r.Method, r.URL.Path, err)
	}
	return err == nil && ok
}
