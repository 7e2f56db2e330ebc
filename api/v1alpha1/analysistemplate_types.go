package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnalysisTemplateSpec is a quality gate: SLI queries sent to a target cluster's Prometheus
// and the objectives their values are judged against.
type AnalysisTemplateSpec struct {
	// SLIs maps each indicator's name to a PromQL query template. Placeholders are written
	// $name or ${name} and filled in before the query is sent: $app, $namespace, $stage,
	// $version, $interval (a Prometheus duration such as 1m, for range selectors),
	// $canarySelector and $baselineSelector (label matchers of the canary and the baseline
	// pods, without braces). $$ is a literal dollar sign; a $ followed by anything else (a
	// regular expression's anchor) is kept as written. Values are inserted verbatim. Every
	// query must return one sample (a one-series vector or a scalar).
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=50
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) > 0)",message="every SLI needs a query"
	SLIs map[string]string `json:"slis"`
	// SLO is the objectives file in Keptn's slo.yaml format (objectives, pass and warning
	// criteria, weights, key SLIs, comparison with earlier results, total score). Every
	// objective's sli must be a key of slis. YAML cannot be parsed by the API server's CEL,
	// so `ferry analysis run` and the controller check it before using the template.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	SLO string `json:"slo"`
	// Interval is the window the queries look at ($interval), and how often an analysis
	// during a rollout measures.
	// +optional
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="interval must be a duration of at least 1s, such as 30s or 5m"
	Interval *metav1.Duration `json:"interval,omitempty"`
	// Judge compares the canary's pods with the baseline's, metric by metric, with a
	// Mann-Whitney U test; a significant change in a metric's bad direction beyond its
	// tolerance fails the analysis, too few samples make it inconclusive.
	// +optional
	Judge *JudgeSpec `json:"judge,omitempty"`
}

// JudgeSpec is the canary-versus-baseline judge of an AnalysisTemplate.
type JudgeSpec struct {
	// Metrics are the quantities compared.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	Metrics []JudgeMetric `json:"metrics"`
	// Confidence is 1 minus the significance level, as a decimal (default 0.98).
	// +optional
	// +kubebuilder:validation:Pattern=`^0\.[0-9]+$`
	Confidence string `json:"confidence,omitempty"`
	// MinSamples is the fewest values each side needs after outlier removal (default 10);
	// fewer make the metric inconclusive, never a pass.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MinSamples int32 `json:"minSamples,omitempty"`
	// Step is the resolution of the range queries over the interval: each step of each
	// series returned is one sample (default 5s).
	// +optional
	// +kubebuilder:validation:Type=string
	Step *metav1.Duration `json:"step,omitempty"`
}

// JudgeMetric is one quantity the judge compares.
type JudgeMetric struct {
	// Name identifies the metric in the verdict.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Query is PromQL with $selector, filled in with the label matchers of the canary's
	// pods and then of the baseline's (the other placeholders of slis work too). Every
	// value of every series it returns over the interval is a sample.
	// +kubebuilder:validation:MinLength=1
	Query string `json:"query"`
	// Direction is the change that is bad: increase (default), decrease or either.
	// +optional
	// +kubebuilder:validation:Enum=increase;decrease;either
	Direction string `json:"direction,omitempty"`
	// Critical marks a metric whose failure is named first as the reason the run failed.
	// +optional
	Critical bool `json:"critical,omitempty"`
	// Tolerance is the relative change of the median allowed in the bad direction even
	// when it is significant, as a decimal (0.1: ten percent worse).
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	Tolerance string `json:"tolerance,omitempty"`
}

// AnalysisTemplateStatus says whether the template can be used.
type AnalysisTemplateStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Ready (the SLO parses and names only known SLIs) and Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fat
// +kubebuilder:printcolumn:name="Interval",type=string,JSONPath=`.spec.interval`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// AnalysisTemplate holds the SLI queries and SLO objectives of a quality gate.
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AnalysisTemplateSpec   `json:"spec,omitempty"`
	Status AnalysisTemplateStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// AnalysisTemplateList is a list of AnalysisTemplates.
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisTemplate `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &AnalysisTemplate{}, &AnalysisTemplateList{})
}
