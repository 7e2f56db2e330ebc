package tracing

import (
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(s int) *metav1.Time {
	t := metav1.NewTime(t0.Add(time.Duration(s) * time.Second))
	return &t
}

func release() *ferryv1.Release {
	return &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "web-1-2-0", Namespace: "shop", UID: "0f8fad5b-d9cb-469f-a165-70867728950e"},
		Spec: ferryv1.ReleaseSpec{Application: "web", Version: "1.2.0"}}
}

// failed is a Promotion whose deploy failed and rolled back; analysis never began and
// approval was skipped.
func failed() *ferryv1.Promotion {
	return &ferryv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1-2-0-prod", Namespace: "shop", UID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", CreationTimestamp: *at(0)},
		Spec:       ferryv1.PromotionSpec{Application: "web", Release: "web-1-2-0", Stage: "prod"},
		Status: ferryv1.PromotionStatus{Phase: ferryv1.PromotionFailed, Message: "deploy: rollout did not finish in 300s", RollbackTo: "web-1-1-0",
			Checkpoints: []ferryv1.Checkpoint{
				{Name: ferryv1.StepFreeze, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(1), FinishedAt: at(1)},
				{Name: ferryv1.StepApproval, Phase: ferryv1.CheckpointSkipped},
				{Name: ferryv1.StepDeploy, Phase: ferryv1.CheckpointFailed, StartedAt: at(2), FinishedAt: at(302), Applied: at(3),
					Message: "rollout did not finish in 300s"},
				{Name: ferryv1.StepAnalysis, Phase: ferryv1.CheckpointRunning},
				{Name: ferryv1.StepRollback, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(303), FinishedAt: at(320)},
			}}}
}

func TestSpansOfAFailedPromotion(t *testing.T) {
	end := t0.Add(320*time.Second + 123456*time.Microsecond)
	spans := Spans(failed(), release(), end)
	type want struct {
		name       string
		start, end time.Time
		status     codes.Code
		desc       string
	}
	wants := []want{
		{"promote web to prod", t0, end, codes.Error, "deploy: rollout did not finish in 300s"},
		{"freeze", at(1).Time, at(1).Time, codes.Unset, ""},
		{"deploy", at(2).Time, at(302).Time, codes.Error, "rollout did not finish in 300s"},
		{"rollback", at(303).Time, at(320).Time, codes.Unset, ""},
	}
	if len(spans) != len(wants) {
		t.Fatalf("%d spans, want %d: %v", len(spans), len(wants), names(spans))
	}
	root := spans[0]
	for i, w := range wants {
		s := spans[i]
		if s.Name() != w.name || !s.StartTime().Equal(w.start) || !s.EndTime().Equal(w.end) || s.Status().Code != w.status || s.Status().Description != w.desc {
			t.Errorf("span %d: %s %s..%s %v %q, want %+v", i, s.Name(), s.StartTime(), s.EndTime(), s.Status().Code, s.Status().Description, w)
		}
		if got := s.SpanContext().TraceID().String(); got != "0f8fad5bd9cb469fa16570867728950e" {
			t.Errorf("span %s: trace %s, want the release's UID", s.Name(), got)
		}
		if !s.SpanContext().IsSampled() || s.Resource() == nil || s.InstrumentationScope().Name != ScopeName {
			t.Errorf("span %s: not sampled, or no resource or scope", s.Name())
		}
		if i > 0 && (s.Parent().SpanID() != root.SpanContext().SpanID() || s.Parent().TraceID() != root.SpanContext().TraceID()) {
			t.Errorf("span %s: parent %s, want the promotion's %s", s.Name(), s.Parent().SpanID(), root.SpanContext().SpanID())
		}
	}
	if root.Parent().IsValid() {
		t.Errorf("the promotion's span has a parent %s", root.Parent().SpanID())
	}
	if root.ChildSpanCount() != 3 {
		t.Errorf("the promotion's span counts %d children", root.ChildSpanCount())
	}
	attrs := attribute.NewSet(root.Attributes()...)
	for k, v := range map[string]string{AttrApplication: "web", AttrStage: "prod", AttrRelease: "web-1-2-0", AttrVersion: "1.2.0",
		AttrPromotion: "shop/web-1-2-0-prod", AttrResult: "Failed", AttrRollbackTo: "web-1-1-0"} {
		if got, _ := attrs.Value(attribute.Key(k)); got.AsString() != v {
			t.Errorf("attribute %s = %q, want %q", k, got.AsString(), v)
		}
	}
	deploy := attribute.NewSet(spans[2].Attributes()...)
	if step, _ := deploy.Value(AttrStep); step.AsString() != "deploy" {
		t.Errorf("the deploy span's %s = %q", AttrStep, step.AsString())
	}
	if ev := spans[2].Events(); len(ev) != 1 || ev[0].Name != "applied" || !ev[0].Time.Equal(at(3).Time) {
		t.Errorf("the deploy span's events: %+v", ev)
	}
}

// TestIDsAreStable: the same Promotion gives the same IDs on every call, each span its
// own, and another Promotion of the Release shares the trace but none of the spans.
func TestIDsAreStable(t *testing.T) {
	end := t0.Add(time.Hour)
	a, b := Spans(failed(), release(), end), Spans(failed(), release(), end)
	seen := map[string]bool{}
	for i := range a {
		if !a[i].SpanContext().Equal(b[i].SpanContext()) || !a[i].Parent().Equal(b[i].Parent()) {
			t.Errorf("span %s: %v then %v", a[i].Name(), a[i].SpanContext(), b[i].SpanContext())
		}
		id := a[i].SpanContext().SpanID().String()
		if seen[id] {
			t.Errorf("span %s repeats the ID %s", a[i].Name(), id)
		}
		seen[id] = true
	}
	other := failed()
	other.Name, other.UID, other.Spec.Stage = "web-1-2-0-dev", "9b2f3c5e-0000-4000-8000-000000000001", "dev"
	for _, s := range Spans(other, release(), end) {
		if seen[s.SpanContext().SpanID().String()] {
			t.Errorf("the dev promotion's span %s has an ID of the prod one's", s.Name())
		}
		if s.SpanContext().TraceID() != a[0].SpanContext().TraceID() {
			t.Errorf("the dev promotion's span %s is in another trace", s.Name())
		}
	}
}

// TestSucceededAndSuperseded: a success has no error status; a step cut short by a
// newer Promotion ends when its Promotion did; a Promotion without a creation time
// starts with its first step.
func TestSucceededAndSuperseded(t *testing.T) {
	ok := failed()
	ok.Status.Phase, ok.Status.Message, ok.Status.RollbackTo = ferryv1.PromotionSucceeded, "", ""
	ok.Status.Checkpoints = ok.Status.Checkpoints[:1]
	spans := Spans(ok, release(), at(9).Time)
	if len(spans) != 2 || spans[0].Status().Code != codes.Unset || spans[1].Status().Code != codes.Unset {
		t.Errorf("succeeded: %v", names(spans))
	}
	if attrs := attribute.NewSet(spans[0].Attributes()...); attrs.HasValue(AttrRollbackTo) {
		t.Error("succeeded: a rollback attribute")
	}

	cut := failed()
	cut.CreationTimestamp = metav1.Time{}
	cut.Status.Phase = ferryv1.PromotionSuperseded
	cut.Status.Checkpoints = []ferryv1.Checkpoint{{Name: ferryv1.StepApproval, Phase: ferryv1.CheckpointRunning, StartedAt: at(5)}}
	spans = Spans(cut, release(), at(60).Time)
	if len(spans) != 2 || spans[0].Status().Code != codes.Unset || !spans[0].StartTime().Equal(at(5).Time) ||
		!spans[1].EndTime().Equal(at(60).Time) || spans[1].Name() != "approval" {
		t.Errorf("superseded: %v, the approval %s..%s", names(spans), spans[1].StartTime(), spans[1].EndTime())
	}
}

// TestTraceIDOfAUIDNotAUUID: a UID that is not a UUID still gives a valid trace ID,
// the same every time.
func TestTraceIDOfAUIDNotAUUID(t *testing.T) {
	rel := release()
	rel.UID = "not-a-uuid"
	if id := TraceID(rel); !id.IsValid() || id != TraceID(rel) {
		t.Errorf("trace ID %s", id)
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}
