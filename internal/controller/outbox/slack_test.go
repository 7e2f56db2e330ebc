package outbox

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/messages"
)

func TestSlackTexts(t *testing.T) {
	p := &ferryv1.Promotion{Spec: ferryv1.PromotionSpec{Application: "shop", Stage: "dev"}}
	for _, c := range []struct {
		e    ferryv1.OutboxEvent
		want string
	}{
		{ferryv1.OutboxEvent{Type: "dev.ferry.rollback.finished", Reason: "RolledBack", Message: "tests failed: ...; rolled back to 1.0.0"}, "rolled back in dev: tests failed: ...; rolled back to 1.0.0"},
		{ferryv1.OutboxEvent{Type: "dev.ferry.promotion.finished", Reason: "PromotionFailed", Step: ferryv1.StepRollback, Message: "x"}, ""},
		{ferryv1.OutboxEvent{Type: "dev.ferry.promotion.finished", Reason: "PromotionFailed", Step: ferryv1.StepApproval, Message: "rejected by bob (leads): no"}, "dev failed: rejected by bob (leads): no"},
		{ferryv1.OutboxEvent{Type: "dev.ferry.promotion.finished", Reason: "Superseded", Message: "superseded by shop-1-2-0"}, "dev: superseded by shop-1-2-0"},
		{ferryv1.OutboxEvent{Type: "dev.ferry.hook.started"}, ""},
		{ferryv1.OutboxEvent{Type: "dev.ferry.approval.requested", Message: "waiting for 1 of [leads] to approve (0 so far)"}, "approval needed in dev: waiting for 1 of [leads] to approve (0 so far); `ferry approve shop dev`"},
	} {
		if got, err := (&Reconciler{}).slackText(p, c.e, ""); err != nil || got != c.want {
			t.Errorf("%s %s: %q, want %q", c.e.Type, c.e.Reason, got, c.want)
		}
	}
}

func TestDeliveryText(t *testing.T) {
	rel := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{}, Spec: ferryv1.ReleaseSpec{Application: "shop", Version: "1.2.0"}}
	deliveryText := func(rel *ferryv1.Release) string {
		text, err := messages.Default().Slack(messages.Delivery, deliveryData(rel))
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	if got := deliveryText(rel); got != "delivery of shop 1.2.0 started" {
		t.Error(got)
	}
	rel.Annotations = map[string]string{ferryv1.AnnotationCreatedBy: "system:serviceaccount:ci:builder"}
	rel.Spec.Git = &ferryv1.GitInfo{Commit: "abc1234"}
	if got := deliveryText(rel); got != "delivery of shop 1.2.0 started by system:serviceaccount:ci:builder from commit@abc1234" {
		t.Error(got)
	}
}

func TestEmailSubjects(t *testing.T) {
	p := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{ferryv1.AnnotationVersion: "1.2.0"}},
		Spec: ferryv1.PromotionSpec{Application: "shop", Stage: "prod"}}
	for _, c := range []struct {
		e    ferryv1.OutboxEvent
		want string
	}{
		{ferryv1.OutboxEvent{Type: "dev.ferry.approval.requested"}, "shop 1.2.0 in prod: approval needed"},
		{ferryv1.OutboxEvent{Type: "dev.ferry.promotion.finished", Reason: "PromotionSucceeded"}, "shop 1.2.0 in prod: done"},
		{ferryv1.OutboxEvent{Type: "dev.ferry.promotion.finished", Reason: "PromotionFailed", Step: ferryv1.StepApproval}, "shop 1.2.0 in prod: failed"},
		{ferryv1.OutboxEvent{Type: "dev.ferry.promotion.finished", Reason: "PromotionFailed", Step: ferryv1.StepRollback}, ""},
		{ferryv1.OutboxEvent{Type: "dev.ferry.rollback.finished", Reason: "RolledBack"}, "shop 1.2.0 in prod: rolled back"},
		{ferryv1.OutboxEvent{Type: "dev.ferry.deployment.started"}, ""},
	} {
		got := ""
		if kind := emailKind(c.e); kind != "" {
			var err error
			if got, err = messages.Default().MailSubject(kind, messageData(p, c.e, "")); err != nil {
				t.Fatal(err)
			}
		}
		if got != c.want {
			t.Errorf("%s %s: %q, want %q", c.e.Type, c.e.Reason, got, c.want)
		}
	}
}
