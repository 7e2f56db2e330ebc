package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ExtensionSpec subscribes an outside service to one step of the deliveries in its
// namespace, in Keptn's spirit ("run my performance test after deploy in stage"): the
// step calls the service as it calls a webhook hook of the app file, after the file's
// own hooks, and waits for its answer: at once (200 passes, 4xx fails), or later (202)
// in the Promotion's annotation hooks.ferry.dev/ext.NAME, which `ferry answer` writes.
// +kubebuilder:validation:XValidation:rule="self.url.startsWith('http://') || self.url.startsWith('https://')",message="url must be an http:// or https:// address"
type ExtensionSpec struct {
	// Step is the step the service joins.
	// +kubebuilder:validation:Enum=preDeploy;postDeploy
	Step string `json:"step"`
	// Stages limits the subscription to these stages (all when empty).
	// +optional
	Stages []string `json:"stages,omitempty"`
	// Applications limits it to these applications (all in the namespace when empty).
	// +optional
	Applications []string `json:"applications,omitempty"`
	// URL is where the step's call goes.
	// +kubebuilder:validation:MinLength=1
	URL string `json:"url"`
	// Headers are sent with each call.
	// +optional
	Headers map[string]string `json:"headers,omitempty"`
	// SecretRef names the Secret (in this namespace) whose key (default "secret") signs each call with
	// HMAC-SHA256; without it calls are unsigned.
	// +optional
	SecretRef *SecretKeyRef `json:"secretRef,omitempty"`
	// TimeoutSeconds bounds the whole call and the wait for a late answer; past it the
	// step fails.
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	// +optional
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
}

// ExtensionStatus says what the service's calls came to, read from the Promotions that
// made them (those still kept).
type ExtensionStatus struct {
	// ObservedGeneration is the generation this status was written for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Calls counts the kept Promotions that called the service.
	// +optional
	Calls int32 `json:"calls,omitempty"`
	// Failed counts those of them where the service failed the step: it answered
	// "fail", an error or nothing within its timeout.
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// Last is the latest call.
	// +optional
	Last *ExtensionCall `json:"last,omitempty"`
}

// ExtensionCall is one Promotion's call of the service.
type ExtensionCall struct {
	// Promotion is the Promotion that made the call.
	Promotion string `json:"promotion"`
	// Application and Stage are the Promotion's.
	Application string `json:"application"`
	Stage       string `json:"stage"`
	// Release is the Release it brought.
	// +optional
	Release string `json:"release,omitempty"`
	// Phase is where the call stands: Running, Waiting (for a later answer), Succeeded
	// or Failed.
	Phase HookPhase `json:"phase"`
	// StartedAt is when the step called the service.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// Message is the service's answer, or why the call failed.
	// +optional
	Message string `json:"message,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fext
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 59",message="an Extension's name is at most 59 characters: its answers come in the annotation hooks.ferry.dev/ext.NAME"
// +kubebuilder:printcolumn:name="Step",type=string,JSONPath=`.spec.step`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`,priority=1
// +kubebuilder:printcolumn:name="Last",type=string,JSONPath=`.status.last.phase`
// +kubebuilder:printcolumn:name="Last-Promotion",type=string,JSONPath=`.status.last.promotion`,priority=1
// +kubebuilder:printcolumn:name="Calls",type=integer,JSONPath=`.status.calls`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failed`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Extension is an outside service's subscription to a step of the deliveries in its
// namespace.
type Extension struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ExtensionSpec `json:"spec,omitempty"`
	// +optional
	Status ExtensionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ExtensionList is a list of Extensions.
type ExtensionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Extension `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &Extension{}, &ExtensionList{})
}
