package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterSpec is a deployment target.
type ClusterSpec struct {
	// KubeconfigSecretRef names a Secret in the Cluster's namespace holding a kubeconfig
	// for the target; without it, the cluster the controller runs in is the target.
	// +optional
	KubeconfigSecretRef *SecretKeyRef `json:"kubeconfigSecretRef,omitempty"`
	// Hosts are the cluster's ingress domains; the first one names Ingress hosts.
	// +optional
	Hosts []string `json:"hosts,omitempty"`
	// PrometheusURL is the Prometheus that analysis and scaling queries go to.
	// +optional
	// +kubebuilder:validation:Pattern=`^https?://`
	PrometheusURL string `json:"prometheusURL,omitempty"`
	// Gateway is the Gateway API Gateway that applications' HTTPRoutes attach to. With it,
	// each deployment gets an HTTPRoute, canary weights become the route's backend
	// weights, and A/B tests route marked requests by header or cookie.
	// +optional
	Gateway *GatewayRef `json:"gateway,omitempty"`
}

// GatewayRef names a Gateway (gateway.networking.k8s.io/v1) in the target cluster.
type GatewayRef struct {
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// SectionName picks one listener of the Gateway; empty attaches to all.
	// +optional
	SectionName string `json:"sectionName,omitempty"`
}

// SecretKeyRef names one key of a Secret.
type SecretKeyRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key defaults to "kubeconfig".
	// +optional
	Key string `json:"key,omitempty"`
}

// ClusterStatus says whether the target can be reached.
type ClusterStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Ready, Reconciling and Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Version is the target's Kubernetes version, as it reported it.
	// +optional
	Version string `json:"version,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fcl
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.version`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Cluster is a deployment target.
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterSpec   `json:"spec,omitempty"`
	Status ClusterStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterList is a list of Clusters.
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Cluster `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &Cluster{}, &ClusterList{})
}
