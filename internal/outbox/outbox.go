// Package outbox keeps a Promotion's CloudEvents in its status until every event sink
// has them, and sends them: the events are recorded in the same status write as the
// steps they tell of, and a sink gets them in order, at least once, with retries and
// backoff whose state lives in the status too, so neither a restart of the controller
// nor a sink that is down loses or reorders one.
package outbox

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// MaxEvents bounds the outbox; a sink down through more than this many events of one
// Promotion loses the oldest.
const MaxEvents = 500

// Record appends an event to the Promotion's outbox.
func Record(p *ferryv1.Promotion, reason, step, msg string, now time.Time) {
	p.Status.EventSeq++
	p.Status.Outbox = append(p.Status.Outbox, ferryv1.OutboxEvent{Seq: p.Status.EventSeq, Type: Type(reason, step),
		Time: metav1.NewMicroTime(now), Step: step, Reason: reason, Message: msg})
	if n := len(p.Status.Outbox); n > MaxEvents {
		p.Status.Outbox = append([]ferryv1.OutboxEvent(nil), p.Status.Outbox[n-MaxEvents:]...)
	}
}

// Type is the CloudEvents type of an event raised with the reason at the step.
func Type(reason, step string) string {
	switch reason {
	case "PromotionStarted":
		return "dev.ferry.promotion.started"
	case "PromotionSucceeded", "PromotionFailed", "Superseded":
		return "dev.ferry.promotion.finished"
	case "StepFailed":
		return "dev.ferry.step.failed"
	case "RollbackStarted":
		return "dev.ferry.rollback.started"
	case "RolledBack", "RollbackFailed":
		return "dev.ferry.rollback.finished"
	case "Analysis":
		return "dev.ferry.analysis.finished"
	case "AnalysisStarted":
		return "dev.ferry.analysis.started"
	case "ReleaseCreated":
		return "dev.ferry.release.created"
	case "ApprovalRequested":
		return "dev.ferry.approval.requested"
	case "ApprovalGranted":
		return "dev.ferry.approval.granted"
	case "ApprovalRejected":
		return "dev.ferry.approval.rejected"
	case "StepStarted", "StepSucceeded":
		return stepType(reason == "StepStarted", step)
	}
	return "dev.ferry.deployment.progressed" // canary and blue-green moves
}

// stepType names a step's start or end by what the step is.
func stepType(started bool, step string) string {
	verb := "finished"
	if started {
		verb = "started"
	}
	switch step {
	case ferryv1.StepDeploy:
		return "dev.ferry.deployment." + verb
	case ferryv1.StepPreDeploy, ferryv1.StepPostDeploy, ferryv1.StepTests, ferryv1.StepRollbackTests:
		return "dev.ferry.hook." + verb
	case ferryv1.StepRollback:
		return "dev.ferry.rollback.deployment." + verb
	}
	return "dev.ferry.step." + verb
}

// Pending are the events a sink has not acknowledged yet, oldest first.
func Pending(p *ferryv1.Promotion, sink string) []ferryv1.OutboxEvent {
	d := Delivery(p, sink)
	var out []ferryv1.OutboxEvent
	for _, e := range p.Status.Outbox {
		if e.Seq > d.Delivered {
			out = append(out, e)
		}
	}
	return out
}

// Delivery is the sink's delivery state, added when it has none.
func Delivery(p *ferryv1.Promotion, sink string) *ferryv1.SinkDelivery {
	for i := range p.Status.Deliveries {
		if p.Status.Deliveries[i].Sink == sink {
			return &p.Status.Deliveries[i]
		}
	}
	p.Status.Deliveries = append(p.Status.Deliveries, ferryv1.SinkDelivery{Sink: sink})
	return &p.Status.Deliveries[len(p.Status.Deliveries)-1]
}

// Trim drops the events every sink has.
func Trim(p *ferryv1.Promotion, sinks []string) {
	if len(sinks) == 0 {
		return
	}
	low := p.Status.EventSeq
	for _, s := range sinks {
		low = min(low, Delivery(p, s).Delivered)
	}
	keep := p.Status.Outbox[:0:0]
	for _, e := range p.Status.Outbox {
		if e.Seq > low {
			keep = append(keep, e)
		}
	}
	p.Status.Outbox = keep
}

// Backoff is the wait after the n-th failed try in a row: 1 s doubling to at most limit.
func Backoff(n int32, limit time.Duration) time.Duration {
	d := time.Second
	for i := int32(1); i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
