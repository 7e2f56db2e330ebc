package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// OutboxEvent is one CloudEvent a Promotion raised, kept in its status (the outbox)
// until every configured sink has it. It is recorded in the same status write as the
// step it tells of, so an event is never lost and never made twice.
type OutboxEvent struct {
	// Seq numbers the Promotion's events from 1, in the order they happened.
	// +kubebuilder:validation:Minimum=1
	Seq int64 `json:"seq"`
	// Type is the CloudEvents type, dev.ferry.KIND.VERB (dev.ferry.deployment.started).
	// +kubebuilder:validation:MinLength=1
	Type string `json:"type"`
	// Time is when it happened.
	Time metav1.MicroTime `json:"time"`
	// Step is the checkpoint it concerns, if any.
	// +optional
	Step string `json:"step,omitempty"`
	// Reason is the Kubernetes Event reason it was raised with (StepStarted...).
	Reason string `json:"reason"`
	// Message says what happened.
	// +optional
	Message string `json:"message,omitempty"`
}

// SinkDelivery is how far one event sink has a Promotion's events.
type SinkDelivery struct {
	// Sink is the sink's name (its URL stays in the controller's configuration: it may
	// hold a token).
	// +kubebuilder:validation:MinLength=1
	Sink string `json:"sink"`
	// Delivered is the Seq of the last event the sink acknowledged.
	Delivered int64 `json:"delivered"`
	// Attempts counts failed tries of the next event since the last success.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// NextAttemptAt is when to try again after a failure.
	// +optional
	NextAttemptAt *metav1.MicroTime `json:"nextAttemptAt,omitempty"`
	// LastError says why the last try failed.
	// +optional
	LastError string `json:"lastError,omitempty"`
}
