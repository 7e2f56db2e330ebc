package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Decision is an approver's answer.
// +kubebuilder:validation:Enum=Approve;Reject
type Decision string

// The decisions.
const (
	DecisionApprove Decision = "Approve"
	DecisionReject  Decision = "Reject"
)

// ApprovalDecisionSpec is one person's decision on one Promotion. The API server checks, through
// the ferry-approval-identity admission policy, that User is the user making the request
// and that they belong to Group; nothing else can write an ApprovalDecision in their name.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="an ApprovalDecision is immutable"
// +kubebuilder:validation:XValidation:rule="self.decision != 'Reject' || size(self.reason) > 0",message="a rejection needs a reason"
type ApprovalDecisionSpec struct {
	// Promotion is the Promotion decided on, in the same namespace.
	// +kubebuilder:validation:MinLength=1
	Promotion string `json:"promotion"`
	// User is the approver, exactly as the API server authenticates them.
	// +kubebuilder:validation:MinLength=1
	User string `json:"user"`
	// Group is the approver group the decision counts for.
	// +kubebuilder:validation:MinLength=1
	Group string `json:"group"`
	// Decision is Approve or Reject.
	Decision Decision `json:"decision"`
	// Reason says why; required to reject.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=fad
// +kubebuilder:printcolumn:name="Promotion",type=string,JSONPath=`.spec.promotion`
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.user`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.group`
// +kubebuilder:printcolumn:name="Decision",type=string,JSONPath=`.spec.decision`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ApprovalDecision is one person's decision on a Promotion waiting for approval.
type ApprovalDecision struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ApprovalDecisionSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// ApprovalDecisionList is a list of ApprovalDecisions.
type ApprovalDecisionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ApprovalDecision `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &ApprovalDecision{}, &ApprovalDecisionList{})
}
