// Package tracing turns a finished Promotion into OpenTelemetry spans: one span for
// the Promotion and one child span per step it ran, with the times its status
// recorded. The spans belong to the trace of the Release (its UID is the trace ID), so
// a trace viewer shows a whole delivery, every stage of it, as one trace. Every ID is
// derived from the objects, never drawn at random: spans sent again after a crash are
// the same spans, and a backend that keeps one span per ID keeps them once.
package tracing

import (
	"crypto/sha256"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// ScopeName is the instrumentation scope of Ferry's spans.
const ScopeName = "ferry.dev/ferry/internal/tracing"

// The attributes Ferry's spans carry.
const (
	AttrApplication = "ferry.application"
	AttrStage       = "ferry.stage"
	AttrRelease     = "ferry.release"
	AttrVersion     = "ferry.version"
	AttrPromotion   = "ferry.promotion" // namespace/name
	// AttrResult is the Promotion's final phase (Succeeded, Failed, Superseded).
	AttrResult = "ferry.result"
	// AttrRollbackTo is the Release the stage returned to after a failure.
	AttrRollbackTo = "ferry.rollback_to"
	AttrStep       = "ferry.step"
	// AttrStepPhase is the step's phase (Succeeded, Failed, or Running for a step cut
	// short by the Promotion's end).
	AttrStepPhase = "ferry.step.phase"
)

// resourceAttrs say which service made the spans.
var resourceAttrs = resource.NewSchemaless(attribute.String("service.name", "ferry"))

// Spans are the spans of the Promotion of rel, which finished at end: the Promotion's
// span first, then one per step begun, in the order of its checkpoints. A step never
// begun (skipped, or not reached) has no span. The spans are built, not recorded, so
// their IDs and times are exactly these (a tracer would draw IDs and read the clock).
func Spans(p *ferryv1.Promotion, rel *ferryv1.Release, end time.Time) []sdktrace.ReadOnlySpan {
	tid := TraceID(rel)
	start := promotionStart(p, end)
	root := tracetest.SpanStub{
		Name:        "promote " + p.Spec.Application + " to " + p.Spec.Stage,
		SpanContext: spanContext(tid, SpanID(p, "")),
		SpanKind:    trace.SpanKindInternal,
		StartTime:   start,
		EndTime:     end,
		Attributes:  promotionAttrs(p, rel),
	}
	if p.Status.Phase == ferryv1.PromotionFailed {
		root.Status = sdktrace.Status{Code: codes.Error, Description: p.Status.Message}
	}
	stubs := tracetest.SpanStubs{root}
	for _, c := range p.Status.Checkpoints {
		if s, ok := stepSpan(p, c, root.SpanContext, end); ok {
			stubs = append(stubs, s)
		}
	}
	stubs[0].ChildSpanCount = len(stubs) - 1
	for i := range stubs {
		stubs[i].Resource = resourceAttrs
		stubs[i].InstrumentationScope = instrumentation.Scope{Name: ScopeName}
	}
	return stubs.Snapshots()
}

// stepSpan is the span of one checkpoint, a child of parent; false when the step never
// began. A step still running when the Promotion ended (superseded) ends with it.
func stepSpan(p *ferryv1.Promotion, c ferryv1.Checkpoint, parent trace.SpanContext, end time.Time) (tracetest.SpanStub, bool) {
	if c.StartedAt == nil || c.Phase == ferryv1.CheckpointSkipped {
		return tracetest.SpanStub{}, false
	}
	s := tracetest.SpanStub{
		Name:        c.Name,
		SpanContext: spanContext(parent.TraceID(), SpanID(p, c.Name)),
		Parent:      parent,
		SpanKind:    trace.SpanKindInternal,
		StartTime:   c.StartedAt.Time,
		EndTime:     end,
		Attributes:  []attribute.KeyValue{attribute.String(AttrStep, c.Name), attribute.String(AttrStepPhase, string(c.Phase))},
	}
	if c.FinishedAt != nil {
		s.EndTime = c.FinishedAt.Time
	}
	if s.EndTime.Before(s.StartTime) { // clocks of two replicas can disagree a little
		s.EndTime = s.StartTime
	}
	if c.Applied != nil {
		s.Events = []sdktrace.Event{{Name: "applied", Time: c.Applied.Time}}
	}
	if c.Phase == ferryv1.CheckpointFailed {
		s.Status = sdktrace.Status{Code: codes.Error, Description: c.Message}
	}
	return s, true
}

// promotionStart is when the Promotion was made; its first step's start, or end, for
// an object that lacks the creation time (one built in memory).
func promotionStart(p *ferryv1.Promotion, end time.Time) time.Time {
	if !p.CreationTimestamp.IsZero() {
		return p.CreationTimestamp.Time
	}
	for _, c := range p.Status.Checkpoints {
		if c.StartedAt != nil {
			return c.StartedAt.Time
		}
	}
	return end
}

func promotionAttrs(p *ferryv1.Promotion, rel *ferryv1.Release) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String(AttrApplication, p.Spec.Application),
		attribute.String(AttrStage, p.Spec.Stage),
		attribute.String(AttrRelease, p.Spec.Release),
		attribute.String(AttrVersion, rel.Spec.Version),
		attribute.String(AttrPromotion, p.Namespace+"/"+p.Name),
		attribute.String(AttrResult, string(p.Status.Phase)),
	}
	if p.Status.RollbackTo != "" {
		attrs = append(attrs, attribute.String(AttrRollbackTo, p.Status.RollbackTo))
	}
	return attrs
}

// TraceID is the trace of the Release's delivery: its UID, a UUID, is 16 bytes as a
// trace ID is. A UID that is not a UUID is hashed instead.
func TraceID(rel *ferryv1.Release) trace.TraceID {
	if id, err := trace.TraceIDFromHex(strings.ReplaceAll(string(rel.UID), "-", "")); err == nil {
		return id
	}
	sum := sha256.Sum256([]byte(rel.UID))
	var id trace.TraceID
	copy(id[:], sum[:])
	return id
}

// SpanID is the span of the Promotion's step ("" for the Promotion itself): a hash of
// the Promotion's UID and the step, so the same span has the same ID on every send.
func SpanID(p *ferryv1.Promotion, step string) trace.SpanID {
	sum := sha256.Sum256([]byte(string(p.UID) + "/" + step))
	var id trace.SpanID
	copy(id[:], sum[:])
	if !id.IsValid() { // all zeros is no span ID; a hash makes it once in 2^64
		id[7] = 1
	}
	return id
}

func spanContext(tid trace.TraceID, sid trace.SpanID) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
}
