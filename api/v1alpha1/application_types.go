package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApplicationSpec is the delivery pipeline of one application, from its app file.
type ApplicationSpec struct {
	// AppFile is the application's ferry.yml (or kitt.yml) with its profiles merged in,
	// as YAML. Releases copy it, so each one renders the same way forever.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=262144
	AppFile string `json:"appFile"`

	// Source says where the app file lives, for people and links.
	// +optional
	Source *AppSource `json:"source,omitempty"`

	// Stages are the ordered stages, as the app file names them; kept here so the API
	// server can check stage names.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=name
	Stages []StageSpec `json:"stages"`
}

// AppSource is the repository and path of an app file.
type AppSource struct {
	// RepoURL is the git repository.
	// +optional
	RepoURL string `json:"repoURL,omitempty"`
	// Path is the app file's path inside the repository.
	// +optional
	Path string `json:"path,omitempty"`
	// Revision is the commit the app file was read at.
	// +optional
	Revision string `json:"revision,omitempty"`
}

// StageSpec is one stage of the pipeline.
type StageSpec struct {
	// Name is the stage's name (dev, stage, prod...).
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`
	Name string `json:"name"`
	// Flows are the release flows that deploy to this stage.
	// +optional
	Flows []Flow `json:"flows,omitempty"`
	// Clusters are the ids of the target Clusters.
	// +kubebuilder:validation:MinItems=1
	Clusters []string `json:"clusters"`
	// ApproverGroups must approve before the stage deploys; Quorum is how many of them.
	// +optional
	ApproverGroups []string `json:"approverGroups,omitempty"`
	// Quorum is how many approver groups must approve (default: all of them).
	// +optional
	// +kubebuilder:validation:Minimum=1
	Quorum int32 `json:"quorum,omitempty"`
}

// ApplicationStatus is where each stage stands.
type ApplicationStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Ready, Reconciling and Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Stages says which Release each stage runs.
	// +optional
	// +listType=map
	// +listMapKey=name
	Stages []StageStatus `json:"stages,omitempty"`
}

// StageStatus is the state of one stage.
type StageStatus struct {
	// Name is the stage.
	Name string `json:"name"`
	// CurrentRelease is the Release deployed in the stage.
	// +optional
	CurrentRelease string `json:"currentRelease,omitempty"`
	// CurrentVersion is that Release's version.
	// +optional
	CurrentVersion string `json:"currentVersion,omitempty"`
	// LastVerifiedRelease is the newest Release verified in the stage, where a rollback
	// returns to.
	// +optional
	LastVerifiedRelease string `json:"lastVerifiedRelease,omitempty"`
	// ActivePromotion is the Promotion running in the stage, if any.
	// +optional
	ActivePromotion string `json:"activePromotion,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fapp
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Stages",type=string,JSONPath=`.spec.stages[*].name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Application is one application's delivery pipeline.
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ApplicationSpec   `json:"spec,omitempty"`
	Status ApplicationStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ApplicationList is a list of Applications.
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Application `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &Application{}, &ApplicationList{})
}
