// Package inventory remembers, in each target namespace, which objects the deploys of
// an application applied there, so that a deploy whose render no longer has an object
// deletes it once the new version runs, as Helm does on an upgrade. The record is a
// ConfigMap beside the objects (ferry-inventory-APP). It is written before anything of
// a new render is applied (what it held and what comes), so an interrupted deploy
// never loses track of an object; after a deploy succeeded, what the render lacks is
// deleted and the record holds the render alone. An object is deleted only while Ferry's
// field manager still applies it: one another manager took over is left alone.
package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"ferry.dev/ferry/internal/kubeapply"
)

// dataKey holds the objects in the ConfigMap, as a JSON list.
const dataKey = "objects"

// labelApplication marks the record with its application.
const labelApplication = "ferry.dev/application"

// Name is the record of an application's objects in a namespace.
func Name(app string) string { return "ferry-inventory-" + app }

// Refs are the references of objects, sorted, without duplicates.
func Refs(objs []*unstructured.Unstructured, ns string) []kubeapply.Ref {
	refs := make([]kubeapply.Ref, 0, len(objs))
	for _, o := range objs {
		refs = append(refs, kubeapply.RefOf(o, ns))
	}
	return normal(refs)
}

// Record keeps the inventory of one application in one namespace of one cluster.
type Record struct {
	CS      kubernetes.Interface
	Applier *kubeapply.Applier
	NS, App string
}

// Remember adds the objects about to be applied to the record (it writes only when one
// is new to it).
func (r Record) Remember(ctx context.Context, refs []kubeapply.Ref) error {
	held, found, err := r.read(ctx)
	if err != nil {
		return err
	}
	all := normal(append(slices.Clone(held), refs...))
	if found && slices.Equal(all, held) {
		return nil
	}
	return r.write(ctx, all, found)
}

// Prune deletes the recorded objects that refs, the render that now runs, lacks, and
// leaves the record holding refs. It returns what it deleted.
func (r Record) Prune(ctx context.Context, refs []kubeapply.Ref) ([]kubeapply.Ref, error) {
	held, found, err := r.read(ctx)
	if err != nil || !found {
		return nil, err
	}
	refs = normal(refs)
	var deleted []kubeapply.Ref
	for _, h := range held {
		if slices.ContainsFunc(refs, h.Same) {
			continue
		}
		gone, err := r.Applier.DeleteIfApplied(ctx, h)
		if err != nil {
			return deleted, fmt.Errorf("pruning %s: %w", h, err)
		}
		if gone {
			deleted = append(deleted, h)
		}
	}
	if slices.Equal(held, refs) {
		return deleted, nil
	}
	return deleted, r.write(ctx, refs, true)
}

func (r Record) read(ctx context.Context) ([]kubeapply.Ref, bool, error) {
	cm, err := r.CS.CoreV1().ConfigMaps(r.NS).Get(ctx, Name(r.App), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the inventory %s/%s: %w", r.NS, Name(r.App), err)
	}
	var refs []kubeapply.Ref
	if err := json.Unmarshal([]byte(cm.Data[dataKey]), &refs); err != nil {
		return nil, false, fmt.Errorf("the inventory %s/%s: %w", r.NS, Name(r.App), err)
	}
	return normal(refs), true, nil
}

func (r Record) write(ctx context.Context, refs []kubeapply.Ref, exists bool) error {
	b, err := json.Marshal(refs)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: Name(r.App), Namespace: r.NS, Labels: map[string]string{labelApplication: r.App}},
		Data:       map[string]string{dataKey: string(b)},
	}
	cms := r.CS.CoreV1().ConfigMaps(r.NS)
	if exists {
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	} else {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("writing the inventory %s/%s: %w", r.NS, Name(r.App), err)
	}
	return nil
}

// normal sorts refs and drops repeats (the same object under another version too).
func normal(refs []kubeapply.Ref) []kubeapply.Ref {
	slices.SortFunc(refs, func(a, b kubeapply.Ref) int { return strings.Compare(a.Key(), b.Key()) })
	return slices.CompactFunc(refs, kubeapply.Ref.Same)
}
