package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Flow is how a version came to be: a release from the main line, a pull request, or
// another branch.
// +kubebuilder:validation:Enum=release;pr;branch
type Flow string

// The flows.
const (
	FlowRelease Flow = "release"
	FlowPR      Flow = "pr"
	FlowBranch  Flow = "branch"
)

// ReleaseSpec is one immutable version to deliver.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a Release is immutable; create a new one"
// +kubebuilder:validation:XValidation:rule="self.flow != 'pr' || (has(self.git) && has(self.git.pullRequest))",message="a pr Release needs git.pullRequest"
// +kubebuilder:validation:XValidation:rule="has(self.build) ? (!has(self.images) || size(self.images) == 0) && has(self.git) && has(self.git.repoURL) : has(self.images) && size(self.images) > 0",message="a Release has images, or a build (with git.commit and git.repoURL) that makes them"
type ReleaseSpec struct {
	// Application is the Application this Release belongs to, in the same namespace.
	// +kubebuilder:validation:MinLength=1
	Application string `json:"application"`
	// Version is the semantic version; it increases per application.
	// +kubebuilder:validation:Pattern=`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`
	Version string `json:"version"`
	// Flow selects the stages the Release travels through.
	Flow Flow `json:"flow"`
	// Images are the images of the Release, pinned by digest (none when Build makes
	// them: they are then in status.images).
	// +kubebuilder:validation:MaxItems=10
	// +listType=map
	// +listMapKey=name
	// +optional
	Images []ReleaseImage `json:"images,omitempty"`
	// Build asks for the images to be built from Git's commit first: the release
	// controller runs a build Job, and the Release travels once it pushed them.
	// +optional
	Build *ReleaseBuild `json:"build,omitempty"`
	// Git holds the commit the Release was built from.
	// +optional
	Git *GitInfo `json:"git,omitempty"`
	// AppFile is the Application's app file when the Release was made.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=262144
	AppFile string `json:"appFile"`
}

// ReleaseBuild is what a build Job makes of the Release's commit.
type ReleaseBuild struct {
	// Package is the application's main package, a directory of the repository.
	// +kubebuilder:validation:MinLength=1
	Package string `json:"package"`
	// Repository is where the app image is pushed (REGISTRY/PATH), tagged with the
	// Release's version.
	// +kubebuilder:validation:MinLength=1
	Repository string `json:"repository"`
	// TestsPackage and TestsRepository make the tests image, when the app file has one.
	// +optional
	TestsPackage string `json:"testsPackage,omitempty"`
	// +optional
	TestsRepository string `json:"testsRepository,omitempty"`
	// Dockerfile, when set, makes the app image from this Dockerfile (a path in the
	// repository) with the controller's Dockerfile builder (kaniko or BuildKit), the
	// Package directory as its context; without it Package is a Go main package built
	// by the Go builder.
	// +optional
	Dockerfile string `json:"dockerfile,omitempty"`
	// BuildArgs are the Dockerfile build's arguments (ARG).
	// +optional
	BuildArgs map[string]string `json:"buildArgs,omitempty"`
	// TestsDockerfile makes the tests image from this Dockerfile, the TestsPackage
	// directory as its context; set with Dockerfile only.
	// +optional
	TestsDockerfile string `json:"testsDockerfile,omitempty"`
}

// ReleaseImage is one image of a Release.
type ReleaseImage struct {
	// Name is the image's role: app, or tests.
	// +kubebuilder:validation:Enum=app;tests
	Name string `json:"name"`
	// Repository is the image repository (registry/path).
	// +kubebuilder:validation:MinLength=1
	Repository string `json:"repository"`
	// Tag is the tag the image was pushed with, for people.
	// +optional
	Tag string `json:"tag,omitempty"`
	// Digest pins the image.
	// +kubebuilder:validation:Pattern=`^sha256:[a-f0-9]{64}$`
	Digest string `json:"digest"`
}

// GitInfo is the source of a Release.
type GitInfo struct {
	// Commit is the full commit SHA.
	// +kubebuilder:validation:Pattern=`^[a-f0-9]{7,64}$`
	Commit string `json:"commit"`
	// Branch is the branch the commit is on.
	// +optional
	Branch string `json:"branch,omitempty"`
	// PullRequest is the pull request number, for the pr flow.
	// +optional
	// +kubebuilder:validation:Minimum=1
	PullRequest *int32 `json:"pullRequest,omitempty"`
	// RepoURL is the repository.
	// +optional
	RepoURL string `json:"repoURL,omitempty"`
	// CommittedAt is when the commit was made: DORA's lead time for changes counts from
	// it (from the Release's creation without it).
	// +optional
	CommittedAt *metav1.Time `json:"committedAt,omitempty"`
}

// ReleaseStatus records where the Release was verified.
type ReleaseStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Ready, Reconciling and Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// VerifiedStages are the stages the Release passed, with when.
	// +optional
	// +listType=map
	// +listMapKey=stage
	VerifiedStages []VerifiedStage `json:"verifiedStages,omitempty"`
	// Images are the images the build pushed, for a Release with spec.build.
	// +optional
	Images []ReleaseImage `json:"images,omitempty"`
	// Build is the build's progress, for a Release with spec.build.
	// +optional
	Build *BuildStatus `json:"build,omitempty"`
}

// BuildPhase is where a build is.
type BuildPhase string

// The build phases.
const (
	BuildRunning   BuildPhase = "Running"
	BuildSucceeded BuildPhase = "Succeeded"
	BuildFailed    BuildPhase = "Failed"
)

// BuildStatus is a Release's build.
type BuildStatus struct {
	Phase BuildPhase `json:"phase"`
	// Job is the build Job's name, in the Release's namespace.
	Job string `json:"job"`
	// StartedAt and FinishedAt bound the build.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Message says how it ended.
	// +optional
	Message string `json:"message,omitempty"`
	// LogConfigMap is the ConfigMap that keeps the end of the build's log.
	// +optional
	LogConfigMap string `json:"logConfigMap,omitempty"`
}

// AppImages are the Release's images: its own, or those its build pushed (none yet
// while it builds).
func (r *Release) AppImages() []ReleaseImage {
	if len(r.Spec.Images) > 0 {
		return r.Spec.Images
	}
	return r.Status.Images
}

// VerifiedStage is a stage a Release passed.
type VerifiedStage struct {
	Stage string      `json:"stage"`
	Time  metav1.Time `json:"time"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=frel
// +kubebuilder:printcolumn:name="App",type=string,JSONPath=`.spec.application`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Flow",type=string,JSONPath=`.spec.flow`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Release is one immutable version of an application to deliver.
type Release struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReleaseSpec   `json:"spec,omitempty"`
	Status ReleaseStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ReleaseList is a list of Releases.
type ReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Release `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &Release{}, &ReleaseList{})
}
