package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ChangeRecordSpec is what a production change was, as known when it began.
type ChangeRecordSpec struct {
	// Application, Stage, Release, Version and Promotion name the change.
	// +kubebuilder:validation:MinLength=1
	Application string `json:"application"`
	// +kubebuilder:validation:MinLength=1
	Stage string `json:"stage"`
	// +kubebuilder:validation:MinLength=1
	Release string `json:"release"`
	// +optional
	Version string `json:"version,omitempty"`
	// +kubebuilder:validation:MinLength=1
	Promotion string `json:"promotion"`
	// Commit and RepoURL say where the change came from, when the Release knows.
	// +optional
	Commit string `json:"commit,omitempty"`
	// +optional
	RepoURL string `json:"repoURL,omitempty"`
	// Approvers approved the change into the stage.
	// +optional
	Approvers []Approval `json:"approvers,omitempty"`
	// OpenedAt is when the deployment began.
	OpenedAt metav1.Time `json:"openedAt"`
}

// ChangeResult is how a change ended.
// +kubebuilder:validation:Enum=Open;Succeeded;SucceededWithIssues;Failed
type ChangeResult string

// The results of a change.
const (
	// ChangeOpen: the deployment is under way.
	ChangeOpen ChangeResult = "Open"
	// ChangeSucceeded: the version was verified in the stage.
	ChangeSucceeded ChangeResult = "Succeeded"
	// ChangeSucceededWithIssues: the version failed and the stage rolled back to the
	// version verified before it, whose tests passed.
	ChangeSucceededWithIssues ChangeResult = "SucceededWithIssues"
	// ChangeFailed: the version failed and the stage could not be returned.
	ChangeFailed ChangeResult = "Failed"
)

// ChangeRecordStatus is how the change ended.
type ChangeRecordStatus struct {
	// Result is Open until the Promotion ends.
	// +optional
	Result ChangeResult `json:"result,omitempty"`
	// ClosedAt is when the Promotion ended.
	// +optional
	ClosedAt *metav1.Time `json:"closedAt,omitempty"`
	// Message is the Promotion's last word.
	// +optional
	Message string `json:"message,omitempty"`
	// Log is the deployment log: each step with its end and message, in order.
	// +optional
	Log []string `json:"log,omitempty"`
	// ServiceNow is the change request kept in ServiceNow for this record, when the
	// controller has a ServiceNow instance.
	// +optional
	ServiceNow *ExternalChange `json:"serviceNow,omitempty"`
}

// ExternalChange is a change request in another system.
type ExternalChange struct {
	// SysID is ServiceNow's id of the change_request.
	SysID string `json:"sysID"`
	// Number is its number people read (CHG0030001).
	// +optional
	Number string `json:"number,omitempty"`
	// Closed says the request was closed there too.
	// +optional
	Closed bool `json:"closed,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fcr
// +kubebuilder:printcolumn:name="Application",type=string,JSONPath=`.spec.application`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.spec.stage`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Result",type=string,JSONPath=`.status.result`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ChangeRecord is the record of one production change, opened when the deployment
// begins (for stages with createChangeRecord) and closed when its Promotion ends.
type ChangeRecord struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ChangeRecordSpec   `json:"spec,omitempty"`
	Status ChangeRecordStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ChangeRecordList is a list of ChangeRecords.
type ChangeRecordList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ChangeRecord `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &ChangeRecord{}, &ChangeRecordList{})
}
