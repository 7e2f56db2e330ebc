// Package kubeapply applies Kubernetes objects written as multi-document YAML with
// server-side apply, so that applying the same objects twice changes nothing.
package kubeapply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Applier applies objects through one API server as one field manager.
type Applier struct {
	dyn     dynamic.Interface
	mapper  meta.RESTMapper
	manager string
	// DryRun asks the API server to validate and admit each object without storing it.
	DryRun bool
}

// New returns an Applier for the cluster rc points at.
func New(rc *rest.Config, fieldManager string) (*Applier, error) {
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return &Applier{dyn: dyn, mapper: mapper, manager: fieldManager}, nil
}

// Decode splits multi-document YAML into objects, naming the document that fails.
func Decode(manifest []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for i := 1; ; i++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("document %d: apiVersion and kind are required", i)
		}
		objs = append(objs, u)
	}
}

// ApplyManifest decodes and applies every object in manifest, in order.
func (a *Applier) ApplyManifest(ctx context.Context, manifest []byte) error {
	objs, err := Decode(manifest)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := a.Apply(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// Serves reports whether the API server serves the object's kind (from the cached
// discovery, so asking is cheap).
func (a *Applier) Serves(obj *unstructured.Unstructured) (bool, error) {
	gvk := obj.GroupVersionKind()
	_, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	return err == nil, err
}

// Apply server-side applies one object, taking ownership of conflicting fields.
func (a *Applier) Apply(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		ri = a.dyn.Resource(mapping.Resource).Namespace(ns)
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: a.manager, Force: &force}
	if a.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
	if err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// Ref names one applied object; its version only says how to reach it.
type Ref struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// RefOf is the reference of an object; one without a namespace is in ns (where Apply
// puts it, unless its kind is cluster-wide).
func RefOf(obj *unstructured.Unstructured, ns string) Ref {
	gvk := obj.GroupVersionKind()
	if o := obj.GetNamespace(); o != "" {
		ns = o
	}
	return Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: ns, Name: obj.GetName()}
}

// Key identifies the object whatever its version.
func (r Ref) Key() string { return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name }

// Same reports whether two references name one object.
func (r Ref) Same(o Ref) bool { return r.Key() == o.Key() }

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// DeleteIfApplied deletes the object when this Applier's field manager still applies
// it, and reports whether it did. An object already gone, of a kind no longer served,
// or that another manager applies now is left alone.
func (a *Applier) DeleteIfApplied(ctx context.Context, ref Ref) (bool, error) {
	ri, err := a.resource(ref)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	got, err := ri.Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !a.applies(got) {
		return false, nil
	}
	policy := metav1.DeletePropagationBackground
	uid := got.GetUID()
	// The uid makes sure the object deleted is the one looked at, not one made since.
	err = ri.Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return false, nil
	}
	return err == nil, err
}

// applies reports whether this Applier's field manager applies fields of the object.
func (a *Applier) applies(obj *unstructured.Unstructured) bool {
	for _, m := range obj.GetManagedFields() {
		if m.Manager == a.manager && m.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// resource is the client of the referenced object's kind, in its namespace.
func (a *Applier) resource(ref Ref) (dynamic.ResourceInterface, error) {
	mapping, err := a.mapper.RESTMapping(schema.GroupKind{Group: ref.Group, Kind: ref.Kind}, ref.Version)
	if err != nil {
		return nil, err
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.dyn.Resource(mapping.Resource).Namespace(ref.Namespace), nil
	}
	return a.dyn.Resource(mapping.Resource), nil
}
