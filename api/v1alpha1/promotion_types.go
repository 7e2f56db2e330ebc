package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PromotionPhase is where a Promotion stands.
// +kubebuilder:validation:Enum=Pending;WaitingApproval;Running;RollingBack;Succeeded;Failed;Superseded
type PromotionPhase string

// The phases of a Promotion.
const (
	PromotionPending         PromotionPhase = "Pending"
	PromotionWaitingApproval PromotionPhase = "WaitingApproval"
	PromotionRunning         PromotionPhase = "Running"
	// PromotionRollingBack returns the stage to its last verified Release after a
	// failed step; the Promotion ends Failed either way.
	PromotionRollingBack PromotionPhase = "RollingBack"
	PromotionSucceeded   PromotionPhase = "Succeeded"
	PromotionFailed      PromotionPhase = "Failed"
	PromotionSuperseded  PromotionPhase = "Superseded"
)

// Checkpoint names, in the order a Promotion passes them.
const (
	StepFreeze       = "freeze"
	StepUpstream     = "upstream"
	StepApproval     = "approval"
	StepChangeRecord = "changeRecord"
	StepPreDeploy    = "preDeploy"
	StepDeploy       = "deploy"
	StepAnalysis     = "analysis"
	StepPostDeploy   = "postDeploy"
	StepTests        = "tests"
	StepDone         = "done"
	// StepRollback and StepRollbackTests follow a failure: the last verified Release is
	// deployed again and its tests run.
	StepRollback      = "rollback"
	StepRollbackTests = "rollbackTests"
)

// PromotionSpec is one attempt to bring one Release into one stage.
// +kubebuilder:validation:XValidation:rule="self.application == oldSelf.application && self.release == oldSelf.release && self.stage == oldSelf.stage && has(self.rollback) == has(oldSelf.rollback)",message="a Promotion's application, release, stage and rollback cannot change"
type PromotionSpec struct {
	// Application is the Application, in the same namespace.
	// +kubebuilder:validation:MinLength=1
	Application string `json:"application"`
	// Release is the Release to bring in.
	// +kubebuilder:validation:MinLength=1
	Release string `json:"release"`
	// Stage is the stage, by name.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`
	Stage string `json:"stage"`
	// FreezeOverride lets the Promotion run during a freeze window; the reason is kept.
	// +optional
	FreezeOverride *Override `json:"freezeOverride,omitempty"`
	// Rollback marks a person's return of the stage to a Release verified there before
	// (`ferry rollback`): it needs no upstream stage and no approval, and a failure
	// does not roll back again.
	// +optional
	Rollback *Override `json:"rollback,omitempty"`
	// Resume lets the canary steps that wait for a person (a pause without a duration, an
	// analysis whose measurement was inconclusive) go on, up to and including Step.
	// +optional
	Resume *Resume `json:"resume,omitempty"`
	// Abort ends the Promotion at its current step, as a person's decision (`ferry
	// abort`): a canary or A/B test puts every request back on the stable version and
	// its pods go, a blue-green preview goes, and the step fails; after the deploy
	// began, the stage rolls back. The reason is kept.
	// +optional
	Abort *Override `json:"abort,omitempty"`
}

// Resume is a person's decision to let a waiting canary step go on.
type Resume struct {
	// Step is the last canary step, counted from 0, that may go on.
	// +kubebuilder:validation:Minimum=0
	Step int32 `json:"step"`
	// +kubebuilder:validation:MinLength=1
	Reason string `json:"reason"`
	// User is who decided, as the API server authenticated them.
	// +optional
	User string `json:"user,omitempty"`
	// Full skips every step left, pauses and analyses alike: the canary is promoted at
	// once (`ferry resume --full`).
	// +optional
	Full bool `json:"full,omitempty"`
}

// Override is a person's decision to go ahead anyway, with the reason.
type Override struct {
	// +kubebuilder:validation:MinLength=1
	Reason string `json:"reason"`
	// User is who decided, as the API server authenticated them.
	// +optional
	User string `json:"user,omitempty"`
}

// PromotionStatus is the Promotion's progress, step by step.
type PromotionStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Ready, Reconciling and Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Phase is where the Promotion stands.
	// +optional
	Phase PromotionPhase `json:"phase,omitempty"`
	// Checkpoints are the steps passed or under way, in order.
	// +optional
	// +listType=map
	// +listMapKey=name
	Checkpoints []Checkpoint `json:"checkpoints,omitempty"`
	// Approvals given so far.
	// +optional
	Approvals []Approval `json:"approvals,omitempty"`
	// RollbackTo is the Release the stage returned to after a failure.
	// +optional
	RollbackTo string `json:"rollbackTo,omitempty"`
	// Hooks are the pre- and post-deploy hooks begun so far, in the order they began:
	// what a restarted controller needs so that it neither calls a webhook that answered
	// again nor fetches a log it kept.
	// +optional
	// +listType=map
	// +listMapKey=step
	// +listMapKey=name
	Hooks []HookStatus `json:"hooks,omitempty"`
	// Canary is the progress of a canary release in the deploy step.
	// +optional
	Canary *CanaryStatus `json:"canary,omitempty"`
	// BlueGreen is the progress of a blue-green release in the deploy step.
	// +optional
	BlueGreen *BlueGreenStatus `json:"blueGreen,omitempty"`
	// Analyses are the measurements of the stage's quality gates, oldest first: each with
	// its values, criteria and verdict.
	// +optional
	// +kubebuilder:validation:MaxItems=200
	Analyses []AnalysisVerdict `json:"analyses,omitempty"`
	// Message says what happened last, in a sentence.
	// +optional
	Message string `json:"message,omitempty"`
	// EventSeq is the Seq of the last event recorded in the outbox.
	// +optional
	EventSeq int64 `json:"eventSeq,omitempty"`
	// Outbox holds the CloudEvents not yet delivered to every sink, oldest first (only
	// when the controller has event sinks).
	// +optional
	// +kubebuilder:validation:MaxItems=500
	Outbox []OutboxEvent `json:"outbox,omitempty"`
	// Deliveries say how far each sink has the events.
	// +optional
	// +listType=map
	// +listMapKey=sink
	Deliveries []SinkDelivery `json:"deliveries,omitempty"`
}

// CheckpointPhase is the state of one step.
// +kubebuilder:validation:Enum=Running;Succeeded;Failed;Skipped
type CheckpointPhase string

// The phases of a checkpoint.
const (
	CheckpointRunning   CheckpointPhase = "Running"
	CheckpointSucceeded CheckpointPhase = "Succeeded"
	CheckpointFailed    CheckpointPhase = "Failed"
	CheckpointSkipped   CheckpointPhase = "Skipped"
)

// Checkpoint is one step of a Promotion.
type Checkpoint struct {
	// Name is the step: freeze, upstream, approval, changeRecord, preDeploy, deploy,
	// analysis, postDeploy, tests, done; rollback and rollbackTests after a failure.
	Name  string          `json:"name"`
	Phase CheckpointPhase `json:"phase"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// Applied is when a deploy or rollback step finished applying its objects to every
	// target: the step then only waits for the rollout, and a resumed step does not
	// apply again.
	// +optional
	Applied *metav1.Time `json:"applied,omitempty"`
}

// HookPhase is where one hook stands.
// +kubebuilder:validation:Enum=Running;Waiting;Succeeded;Failed
type HookPhase string

// The phases of a hook.
const (
	// HookRunning is a job hook whose Job runs, or a webhook hook being called (again
	// after a retryable answer).
	HookRunning HookPhase = "Running"
	// HookWaiting is a webhook hook whose receiver accepted the call (202): it answers
	// later in the Promotion's annotation hooks.ferry.dev/<hook>, and is not called again.
	HookWaiting HookPhase = "Waiting"
	// HookSucceeded is a Job that completed, or a webhook that passed.
	HookSucceeded HookPhase = "Succeeded"
	// HookFailed is a Job that failed, or a webhook that refused, answered fail or did
	// not answer in time; it fails the step.
	HookFailed HookPhase = "Failed"
)

// The kinds of hook, as HookStatus.Kind names them.
const (
	HookKindJob     = "job"
	HookKindWebhook = "webhook"
)

// HookStatus is one hook of one step of a Promotion.
type HookStatus struct {
	// Step is the checkpoint the hook runs in: preDeploy, postDeploy, tests (the
	// Release's tests image) or rollbackTests.
	// +kubebuilder:validation:MinLength=1
	Step string `json:"step"`
	// Name is the hook's name in the app file.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Kind is job or webhook.
	// +kubebuilder:validation:Enum=job;webhook
	Kind string `json:"kind"`
	// Phase is where the hook stands.
	Phase HookPhase `json:"phase"`
	// StartedAt is when the hook began; its timeout counts from then.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// Attempts counts the calls made to a webhook hook.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// NextAttemptAt is when a webhook hook that gave no answer yet is called again.
	// +optional
	NextAttemptAt *metav1.Time `json:"nextAttemptAt,omitempty"`
	// Job is a job hook's Job, as namespace/name (the same in every target cluster).
	// +optional
	Job string `json:"job,omitempty"`
	// Logs name the ConfigMaps, in the Promotion's namespace, that keep a job hook's
	// log once its Job ended, one per target cluster (`ferry logs` prints them).
	// +optional
	Logs []string `json:"logs,omitempty"`
	// Message says what the hook did last: the receiver's answer, why it is retried,
	// or why the Job failed.
	// +optional
	Message string `json:"message,omitempty"`
}

// Approval is one person's approval, as the API server identified them.
type Approval struct {
	User  string      `json:"user"`
	Group string      `json:"group"`
	Time  metav1.Time `json:"time"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fpro
// +kubebuilder:printcolumn:name="App",type=string,JSONPath=`.spec.application`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.spec.stage`
// +kubebuilder:printcolumn:name="Release",type=string,JSONPath=`.spec.release`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Rolled-Back-To",type=string,JSONPath=`.status.rollbackTo`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Promotion is one attempt to bring one Release into one stage.
type Promotion struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PromotionSpec   `json:"spec,omitempty"`
	Status PromotionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// PromotionList is a list of Promotions.
type PromotionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Promotion `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &Promotion{}, &PromotionList{})
}
