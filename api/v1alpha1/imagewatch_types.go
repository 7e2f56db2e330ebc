package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ImageWatchSpec follows one registry repository for one Application: the digest of one
// tag, or the highest tag inside a semantic-version range, or the highest tag matching a
// regular expression.
// +kubebuilder:validation:XValidation:rule="[has(self.tag), has(self.semver), has(self.tagRegex)].filter(x, x).size() == 1",message="give exactly one of tag, semver or tagRegex"
type ImageWatchSpec struct {
	// Repository is REGISTRY/PATH, without tag or digest (127.0.0.1:5000/hello).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="!self.contains('@') && !self.matches(':[^/]*$')",message="repository is REGISTRY/PATH without a tag or digest"
	Repository string `json:"repository"`
	// Tag is followed by its digest: each new digest is a new image.
	// +optional
	Tag string `json:"tag,omitempty"`
	// Semver is a range (Masterminds/semver: ~1.2, ^2, >=1.0 <2.0): the highest tag in
	// it is taken.
	// +optional
	Semver string `json:"semver,omitempty"`
	// TagRegex takes the highest matching tag (by semantic version when the tags are
	// versions, else the last in lexical order).
	// +optional
	TagRegex string `json:"tagRegex,omitempty"`
	// Interval between polls (default 1m, at least 1s).
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
	// SecretRef names a kubernetes.io/dockerconfigjson Secret of this namespace with the
	// registry's credentials.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
	// Application is the Application the images feed.
	// +kubebuilder:validation:MinLength=1
	Application string `json:"application"`
	// AutoRelease makes a Release of each new image; without it the status only says
	// what is new.
	// +optional
	AutoRelease bool `json:"autoRelease,omitempty"`
}

// LocalObjectReference names an object of the same namespace.
type LocalObjectReference struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// ImageWatchStatus is what the last poll found.
type ImageWatchStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Tag and Digest are the image last seen.
	// +optional
	Tag string `json:"tag,omitempty"`
	// +optional
	Digest string `json:"digest,omitempty"`
	// PolledAt is when the registry last answered or failed.
	// +optional
	PolledAt *metav1.Time `json:"polledAt,omitempty"`
	// Release is the Release made of the image last seen (autoRelease).
	// +optional
	Release string `json:"release,omitempty"`
	// Conditions: Ready (the registry answered; reason RegistryError, Unauthorized,
	// NoMatchingTag... when not).
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fiw
// +kubebuilder:printcolumn:name="Repository",type=string,JSONPath=`.spec.repository`
// +kubebuilder:printcolumn:name="Tag",type=string,JSONPath=`.status.tag`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Polled",type=date,JSONPath=`.status.polledAt`

// ImageWatch follows a registry repository and makes Releases of the new images.
type ImageWatch struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ImageWatchSpec   `json:"spec,omitempty"`
	Status ImageWatchStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ImageWatchList is a list of ImageWatches.
type ImageWatchList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageWatch `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &ImageWatch{}, &ImageWatchList{})
}
