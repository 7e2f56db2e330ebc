package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CanaryPhase is where a canary release stands.
// +kubebuilder:validation:Enum=Progressing;Promoting;Aborted
type CanaryPhase string

// The phases of a canary release.
const (
	// CanaryProgressing: the canary's steps (setWeight, pause, analysis) are under way.
	CanaryProgressing CanaryPhase = "Progressing"
	// CanaryPromoting: every step passed; the stable Deployment takes the new version and
	// the canary's pods go.
	CanaryPromoting CanaryPhase = "Promoting"
	// CanaryAborted: a step failed; the canary's pods are gone and the stable version
	// has all the traffic again.
	CanaryAborted CanaryPhase = "Aborted"
)

// CanaryStatus is the progress of a canary release in a Promotion's deploy step.
type CanaryStatus struct {
	// Phase is where the canary stands.
	Phase CanaryPhase `json:"phase"`
	// StableVersion is the version the stage ran when the canary began.
	StableVersion string `json:"stableVersion"`
	// StableReplicas is the stable Deployment's replica count when the canary began: the
	// total the weights are shares of, and the count it returns to.
	// +kubebuilder:validation:Minimum=1
	StableReplicas int32 `json:"stableReplicas"`
	// Step is the index of the canary step under way (equal to the number of steps once
	// they all passed).
	// +kubebuilder:validation:Minimum=0
	Step int32 `json:"step"`
	// StepStartedAt is when the current step began: pauses and analyses count from then
	// (to the microsecond: a pause of one second must not end early).
	// +optional
	StepStartedAt *metav1.MicroTime `json:"stepStartedAt,omitempty"`
	// Weight is the share of the traffic, in percent, the last setWeight step asked for.
	// +optional
	Weight int32 `json:"weight,omitempty"`
	// CanaryReplicas and StableReplicasNow are the pods of each version that weight
	// became: with the traffic split by replica ratio, the canary's real share is
	// CanaryReplicas / (CanaryReplicas + StableReplicasNow).
	// +optional
	CanaryReplicas int32 `json:"canaryReplicas,omitempty"`
	// +optional
	StableReplicasNow int32 `json:"stableReplicasNow,omitempty"`
	// Baseline says whether baseline pods of the stable version run beside the canary
	// (APP-baseline, as many as the canary has, taken from the stable pods), and
	// BaselineReplicas how many now.
	// +optional
	Baseline bool `json:"baseline,omitempty"`
	// +optional
	BaselineReplicas int32 `json:"baselineReplicas,omitempty"`
	// Route names the Gateway API HTTPRoute that splits the traffic when the target
	// clusters route through a Gateway; empty when the split is by replica ratio. With a
	// route the stable Deployment keeps its size until the last step, and the weight is
	// the route's backend weight.
	// +optional
	Route string `json:"route,omitempty"`
	// Match is what marks a request for the new version in an A/B test (a header or a
	// cookie, as the app file says); empty for a canary.
	// +optional
	Match string `json:"match,omitempty"`
	// Routed says the route carries Weight (and the marking of an A/B test) now.
	// +optional
	Routed bool `json:"routed,omitempty"`
	// AbortedAt is when the canary's pods were removed after a failed step.
	// +optional
	AbortedAt *metav1.Time `json:"abortedAt,omitempty"`
	// BackgroundDueAt is when the background analysis measures next: one interval after
	// its starting step began, then one interval after each measurement.
	// +optional
	BackgroundDueAt *metav1.MicroTime `json:"backgroundDueAt,omitempty"`
	// Message says what the canary does now.
	// +optional
	Message string `json:"message,omitempty"`
}

// AnalysisVerdict is one measurement of one AnalysisTemplate during a Promotion.
type AnalysisVerdict struct {
	// Step is where it was measured: canary step N (canary-N) or the analysis checkpoint
	// (analysis).
	// +kubebuilder:validation:MinLength=1
	Step string `json:"step"`
	// Template is the AnalysisTemplate.
	// +kubebuilder:validation:MinLength=1
	Template string `json:"template"`
	// Cluster is the target cluster whose Prometheus was asked.
	Cluster string `json:"cluster"`
	// Measurement counts the measurements of this template in this step, from 1.
	// +kubebuilder:validation:Minimum=1
	Measurement int32 `json:"measurement"`
	// Result is pass, warning, fail or inconclusive.
	// +kubebuilder:validation:Enum=pass;warning;fail;inconclusive
	Result string `json:"result"`
	// Score is the SLO's total score in percent, as a decimal string.
	// +optional
	Score string `json:"score,omitempty"`
	// Reason says why the result is what it is, in a sentence.
	// +optional
	Reason string `json:"reason,omitempty"`
	// At is the time the queries were evaluated at.
	At metav1.Time `json:"at"`
	// Objectives are the SLO's objectives with their values and verdicts.
	// +optional
	Objectives []ObjectiveVerdict `json:"objectives,omitempty"`
	// Judge is the canary-versus-baseline comparison, metric by metric, when the
	// template has a judge.
	// +optional
	Judge []JudgeVerdict `json:"judge,omitempty"`
}

// JudgeVerdict is the judge's decision on one metric, with its statistics as decimal
// strings.
type JudgeVerdict struct {
	Name string `json:"name"`
	// Result is pass, fail or inconclusive.
	Result        string `json:"result"`
	CanaryCount   int32  `json:"canaryCount"`
	BaselineCount int32  `json:"baselineCount"`
	// +optional
	CanaryMedian string `json:"canaryMedian,omitempty"`
	// +optional
	BaselineMedian string `json:"baselineMedian,omitempty"`
	// PValue is the Mann-Whitney test's, in the metric's bad direction.
	// +optional
	PValue string `json:"pValue,omitempty"`
	// Effect is the relative change of the median.
	// +optional
	Effect string `json:"effect,omitempty"`
	// Criterion says what would make the metric fail; Reason why it got its result.
	// +optional
	Criterion string `json:"criterion,omitempty"`
	// +optional
	Reason string `json:"reason,omitempty"`
}

// ObjectiveVerdict is the verdict on one SLO objective.
type ObjectiveVerdict struct {
	// SLI is the indicator's name.
	SLI string `json:"sli"`
	// Value is the measured value as a decimal string; empty when the query gave none.
	// +optional
	Value string `json:"value,omitempty"`
	// Status is pass, warning, fail or info.
	Status string `json:"status"`
	// Score is the objective's score, as a decimal string.
	// +optional
	Score string `json:"score,omitempty"`
	// Criteria are the pass criteria with the thresholds they came to, and whether each
	// was violated ("<=0.05 (0.05): violated").
	// +optional
	Criteria []string `json:"criteria,omitempty"`
	// Error says why the SLI has no value.
	// +optional
	Error string `json:"error,omitempty"`
}

// BlueGreenPhase is where a blue-green release stands.
// +kubebuilder:validation:Enum=Previewing;Switched;Finishing;Finished;Aborted;SwitchedBack
type BlueGreenPhase string

// The phases of a blue-green release.
const (
	// BlueGreenPreviewing: the new version starts beside the old one, behind the preview
	// Service only.
	BlueGreenPreviewing BlueGreenPhase = "Previewing"
	// BlueGreenSwitched: the active Service sends every request to the new version; the
	// old one stays scaled for the scale-down delay, so going back is a selector switch.
	BlueGreenSwitched BlueGreenPhase = "Switched"
	// BlueGreenFinishing: the stable Deployment takes the new version; then the preview
	// goes and the active Service selects by application again.
	BlueGreenFinishing BlueGreenPhase = "Finishing"
	// BlueGreenFinished: the new version runs in the stable Deployment alone.
	BlueGreenFinished BlueGreenPhase = "Finished"
	// BlueGreenAborted: the preview never became ready, or the tests against it failed;
	// it is removed and the old version kept every request.
	BlueGreenAborted BlueGreenPhase = "Aborted"
	// BlueGreenSwitchedBack: a step after the switch failed while the old version was
	// still scaled; the active Service selects it again and the preview is removed.
	BlueGreenSwitchedBack BlueGreenPhase = "SwitchedBack"
)

// BlueGreenStatus is the progress of a blue-green release in a Promotion's deploy step.
type BlueGreenStatus struct {
	// Phase is where the release stands.
	Phase BlueGreenPhase `json:"phase"`
	// PreviousVersion is the version the stage ran when the release began.
	PreviousVersion string `json:"previousVersion"`
	// ActiveVersion is the version the active Service sends requests to.
	ActiveVersion string `json:"activeVersion"`
	// Replicas is the stable Deployment's size when the release began: the preview's size.
	// +kubebuilder:validation:Minimum=1
	Replicas int32 `json:"replicas"`
	// SwitchedAt is when the active Service switched to the new version.
	// +optional
	SwitchedAt *metav1.MicroTime `json:"switchedAt,omitempty"`
	// SwitchedBackAt is when a rollback switched the active Service back to the old
	// version.
	// +optional
	SwitchedBackAt *metav1.MicroTime `json:"switchedBackAt,omitempty"`
	// Message says what the release does now.
	// +optional
	Message string `json:"message,omitempty"`
}
