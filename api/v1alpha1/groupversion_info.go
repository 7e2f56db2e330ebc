package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of every Ferry kind.
	GroupVersion = schema.GroupVersion{Group: "ferry.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the Ferry kinds with a runtime scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the Ferry kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
