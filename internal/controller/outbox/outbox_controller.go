// Package outbox is the controller that sends each Promotion's outbox of CloudEvents
// to the configured sinks over HTTP (binary mode), in order, and records in the
// Promotion's status how far each sink got and when to try again.
package outbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/outbox"
)

// Sink is a named receiver of CloudEvents.
type Sink struct {
	Name string
	URL  string
}

// Reconciler sends Promotions' outboxes.
type Reconciler struct {
	client.Client
	Sinks []Sink
	// MaxBackoff bounds the wait between tries (default 1 minute).
	MaxBackoff time.Duration
	// Timeout bounds one send (default 5 s).
	Timeout time.Duration
	Now     func() time.Time

	ce cloudevents.Client
}

// SetupWithManager registers the controller: it wakes for Promotions with events some
// sink has not acknowledged.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	p, err := cehttp.New()
	if err != nil {
		return err
	}
	if r.ce, err = cloudevents.NewClient(p, cloudevents.WithTimeNow(), cloudevents.WithUUIDs()); err != nil {
		return err
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	pending := predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return hasOutbox(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return hasOutbox(e.ObjectNew) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	return ctrl.NewControllerManagedBy(mgr).Named("outbox").
		For(&ferryv1.Promotion{}, builder.WithPredicates(pending)).Complete(r)
}

func hasOutbox(o client.Object) bool {
	p, ok := o.(*ferryv1.Promotion)
	return ok && len(p.Status.Outbox) > 0
}

// Reconcile sends each sink the events it lacks, oldest first, stopping at the first
// failure (a later event must not arrive before an earlier one), then writes how far
// each sink got, and drops the events every sink has.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &ferryv1.Promotion{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := p.DeepCopy()
	now := r.Now()
	var wait time.Duration
	names := make([]string, 0, len(r.Sinks))
	for _, s := range r.Sinks {
		names = append(names, s.Name)
		if w := r.deliver(ctx, p, s, now); w > 0 && (wait == 0 || w < wait) {
			wait = w
		}
	}
	outbox.Trim(p, names)
	if err := r.Status().Patch(ctx, p, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsConflict(err) {
			// Another write came first: what was sent is sent again (at least once).
			return ctrl.Result{RequeueAfter: 10 * time.Millisecond}, nil
		}
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: wait}, nil
}

// deliver sends one sink its pending events; it returns how long to wait before the
// next try when one failed or the backoff has not ended, else 0.
func (r *Reconciler) deliver(ctx context.Context, p *ferryv1.Promotion, s Sink, now time.Time) time.Duration {
	d := outbox.Delivery(p, s.Name)
	if d.NextAttemptAt != nil && d.NextAttemptAt.After(now) {
		return d.NextAttemptAt.Sub(now)
	}
	for _, e := range outbox.Pending(p, s.Name) {
		if err := r.send(ctx, p, s, e); err != nil {
			d = outbox.Delivery(p, s.Name)
			d.Attempts++
			wait := outbox.Backoff(d.Attempts, cmp.Or(r.MaxBackoff, time.Minute))
			next := metav1.NewMicroTime(now.Add(wait))
			d.NextAttemptAt, d.LastError = &next, fmt.Sprintf("event %d (%s): %v", e.Seq, e.Type, err)
			return wait
		}
		d = outbox.Delivery(p, s.Name)
		d.Delivered, d.Attempts, d.NextAttemptAt, d.LastError = e.Seq, 0, nil, ""
	}
	return 0
}

// data is an event's payload.
type data struct {
	Promotion   string `json:"promotion"`
	Namespace   string `json:"namespace"`
	Application string `json:"application"`
	Stage       string `json:"stage"`
	Release     string `json:"release"`
	Version     string `json:"version,omitempty"`
	Step        string `json:"step,omitempty"`
	Reason      string `json:"reason"`
	Message     string `json:"message,omitempty"`
}

// send posts one event; the sink's URL never goes into an error (it may hold a token).
func (r *Reconciler) send(ctx context.Context, p *ferryv1.Promotion, s Sink, e ferryv1.OutboxEvent) error {
	ev := cloudevents.NewEvent()
	ev.SetID(fmt.Sprintf("%s-%d", p.UID, e.Seq)) // the same on every try: a receiver can drop repeats
	ev.SetSource("ferry.dev/" + p.Namespace + "/promotions/" + p.Name)
	ev.SetType(e.Type)
	ev.SetSubject(p.Spec.Application + "/" + p.Spec.Stage)
	ev.SetTime(e.Time.Time)
	ev.SetExtension("sequence", fmt.Sprint(e.Seq))
	if err := ev.SetData(cloudevents.ApplicationJSON, data{Promotion: p.Name, Namespace: p.Namespace, Application: p.Spec.Application,
		Stage: p.Spec.Stage, Release: p.Spec.Release, Version: p.Annotations[ferryv1.AnnotationVersion], Step: e.Step, Reason: e.Reason, Message: e.Message}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(r.Timeout, 5*time.Second))
	defer cancel()
	res := r.ce.Send(cloudevents.ContextWithTarget(ctx, s.URL), ev)
	if cloudevents.IsACK(res) {
		return nil
	}
	var herr *cehttp.Result
	if errors.As(res, &herr) {
		return fmt.Errorf("sink %s answered %d", s.Name, herr.StatusCode)
	}
	return fmt.Errorf("sink %s not reached", s.Name)
}
