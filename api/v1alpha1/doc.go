// Package v1alpha1 holds Ferry's API types, group ferry.dev, version v1alpha1.
//
// The kinds (Application, Release, Promotion, AnalysisTemplate, ImageWatch, Cluster) are
// described in DESIGN.md; this package imports no internal package.
//
// +kubebuilder:object:generate=true
// +groupName=ferry.dev
package v1alpha1
