// Package outbox is the controller that sends each Promotion's outbox of CloudEvents
// to the configured sinks over HTTP (binary mode), in order, and records in the
// Promotion's status how far each sink got and when to try again.
package outbox

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/messages"
	"ferry.dev/ferry/internal/outbox"
)

// Sink is a named receiver of the events: CloudEvents over HTTP to URL, or, with
// Slack set, replies in each delivery's Slack thread, or, with Email set, mail, or,
// with OTLP set, each finished Promotion's trace.
type Sink struct {
	Name string
	URL  string
	// URLSecret, instead of URL, is NAMESPACE/NAME/KEY of the Secret that holds it.
	URLSecret string
	Slack     *Slack
	Email     *Email
	OTLP      *OTLP
}

// +kubebuilder:rbac:groups=ferry.dev,resources=promotions/status,verbs=patch
// +kubebuilder:rbac:groups=ferry.dev,resources=releases,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Reconciler sends Promotions' outboxes.
type Reconciler struct {
	client.Client
	// APIReader reads what is never cached (the Slack token's Secret).
	APIReader client.Reader
	Sinks     []Sink
	// MaxBackoff bounds the wait between tries (default 1 minute).
	MaxBackoff time.Duration
	// Messages are the notifications' templates (default: messages.Default()).
	Messages *messages.Set
	// Events tells of a sink's first failure in a row on the Promotion (nil: none).
	Events events.EventRecorder
	// Timeout bounds one send (default 5 s).
	Timeout time.Duration
	Now     func() time.Time

	ce   cloudevents.Client
	http *http.Client
	// acked remembers, per Promotion and sink, the last event this process saw a sink
	// take (an ack): a reconcile that reads a copy older than its own write does not
	// send again. Entries older than an hour go (sweep).
	acked     sync.Map
	sweptMu   sync.Mutex
	lastSwept time.Time
	// exporters holds each OTLP sink's exporter by the sink's name.
	exporters sync.Map
	// threadLocks make finding or starting a delivery's Slack thread one at a time.
	threadLocks stripedLocks
}

// ack is what acked holds.
type ack struct {
	seq int64
	at  time.Time
}

// sweep forgets acks older than an hour, at most every ten minutes: no cache is that
// far behind.
func (r *Reconciler) sweep(now time.Time) {
	r.sweptMu.Lock()
	defer r.sweptMu.Unlock()
	if now.Sub(r.lastSwept) < 10*time.Minute {
		return
	}
	r.lastSwept = now
	r.acked.Range(func(k, v any) bool {
		if now.Sub(v.(ack).at) > time.Hour {
			r.acked.Delete(k)
		}
		return true
	})
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
	if r.Messages == nil {
		r.Messages = messages.Default()
	}
	r.http = &http.Client{Timeout: cmp.Or(r.Timeout, 5*time.Second)}
	pending := predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return hasOutbox(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return hasOutbox(e.ObjectNew) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	return ctrl.NewControllerManagedBy(mgr).Named("outbox").
		For(&ferryv1.Promotion{}, builder.WithPredicates(pending)).Complete(r)
}

// messages is the set of templates in use.
func (r *Reconciler) messages() *messages.Set {
	if r.Messages == nil {
		return messages.Default()
	}
	return r.Messages
}

func hasOutbox(o client.Object) bool {
	p, ok := o.(*ferryv1.Promotion)
	return ok && len(p.Status.Outbox) > 0
}

// Reconcile sends each sink the events it lacks, oldest first, stopping at the first
// failure (a later event must not arrive before an earlier one), writing each sink's
// progress as soon as it changes, then drops the events every sink has.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &ferryv1.Promotion{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	now := r.Now()
	r.sweep(now)
	var wait time.Duration
	sinks, err := r.sinksFor(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	names := make([]string, 0, len(sinks))
	for _, s := range sinks {
		names = append(names, s.Name)
		w, err := r.deliver(ctx, p, s, now)
		if err != nil {
			return ctrl.Result{}, err
		}
		if w > 0 && (wait == 0 || w < wait) {
			wait = w
		}
	}
	base := p.DeepCopy()
	outbox.Trim(p, names)
	if len(p.Status.Outbox) == len(base.Status.Outbox) {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	// The trim must not drop an event the promotion controller added meanwhile.
	if err := r.Status().Patch(ctx, p, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: 10 * time.Millisecond}, nil
		}
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: wait}, nil
}

// deliver sends one sink its pending events; it returns how long to wait before the
// next try when one failed or the backoff has not ended, else 0. The sink's progress is
// written after each event it took (a crash between a send and that write sends the
// event again: at least once) and after a failure.
func (r *Reconciler) deliver(ctx context.Context, p *ferryv1.Promotion, s Sink, now time.Time) (time.Duration, error) {
	d := outbox.Delivery(p, s.Name)
	key := string(p.UID) + "/" + s.Name
	if seen, ok := r.acked.Load(key); ok && seen.(ack).seq > d.Delivered {
		d.Delivered, d.Attempts, d.NextAttemptAt, d.LastError = seen.(ack).seq, 0, nil, ""
	}
	if d.NextAttemptAt != nil && d.NextAttemptAt.After(now) {
		return d.NextAttemptAt.Sub(now), nil
	}
	for _, e := range outbox.Pending(p, s.Name) {
		if err := r.send(ctx, p, s, e); err != nil {
			d = outbox.Delivery(p, s.Name)
			d.Attempts++
			wait := outbox.Backoff(d.Attempts, cmp.Or(r.MaxBackoff, time.Minute))
			next := metav1.NewMicroTime(now.Add(wait))
			d.NextAttemptAt, d.LastError = &next, fmt.Sprintf("event %d (%s): %v", e.Seq, e.Type, err)
			if d.Attempts == 1 && r.Events != nil {
				// Said once per outage: the status keeps the latest error and attempt count.
				r.Events.Eventf(p, nil, corev1.EventTypeWarning, "NotificationFailed", "notify", "sink %s: %s; trying again in %s", s.Name, d.LastError, wait.Round(time.Second))
			}
			return wait, r.saveDeliveries(ctx, p)
		}
		d = outbox.Delivery(p, s.Name)
		d.Delivered, d.Attempts, d.NextAttemptAt, d.LastError = e.Seq, 0, nil, ""
		r.acked.Store(key, ack{e.Seq, now})
		if err := r.saveDeliveries(ctx, p); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// saveDeliveries writes the sinks' progress. This controller alone writes it, so no
// lock is needed, and the promotion controller's writes never touch it.
func (r *Reconciler) saveDeliveries(ctx context.Context, p *ferryv1.Promotion) error {
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"deliveries": p.Status.Deliveries}})
	if err != nil {
		return err
	}
	deliveries := p.Status.Deliveries
	if err := r.Status().Patch(ctx, p, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("recording the event deliveries of %s: %w", p.Name, err)
	}
	p.Status.Deliveries = deliveries // the answer may be older than what this process knows
	return nil
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

// send delivers one event to the sink; the sink's URL never goes into an error (it may
// hold a token).
func (r *Reconciler) send(ctx context.Context, p *ferryv1.Promotion, s Sink, e ferryv1.OutboxEvent) error {
	switch {
	case s.Slack != nil:
		return r.sendSlack(ctx, p, s, e)
	case s.Email != nil:
		return r.sendEmail(ctx, p, s, e)
	case s.OTLP != nil:
		return r.sendOTLP(ctx, p, s, e)
	}
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
	target := s.URL
	if s.URLSecret != "" {
		var err error
		if target, err = r.secretValue(ctx, s.URLSecret); err != nil {
			return fmt.Errorf("sink %s: %w", s.Name, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(r.Timeout, 5*time.Second))
	defer cancel()
	res := r.ce.Send(cloudevents.ContextWithTarget(ctx, target), ev)
	if cloudevents.IsACK(res) {
		return nil
	}
	var herr *cehttp.Result
	if errors.As(res, &herr) {
		return fmt.Errorf("sink %s answered %d", s.Name, herr.StatusCode)
	}
	return fmt.Errorf("sink %s not reached", s.Name)
}
