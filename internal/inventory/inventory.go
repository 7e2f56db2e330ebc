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
	"sync"

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
	// Known, when set, keeps what this process last read or wrote of each record in the
	// cluster (by namespace and application), so that a deploy whose objects the record
	// already holds reads nothing. Where it is behind (someone deleted the record), an
	// object may go unrecorded and is then never deleted, which is safe: a deletion
	// always reads the record afresh, and a record found missing is read again next time.
	Known *sync.Map
}

// Remember adds the objects about to be applied to the record (it writes only when one
// is new to it).
func (r Record) Remember(ctx context.Context, refs []kubeapply.Ref) error {
	refs = normal(slices.Clone(refs))
	if known, ok := r.known(); ok && holds(known, refs) {
		return nil
	}
	held, found, err := r.read(ctx)
	if err != nil {
		return err
	}
	all := normal(append(slices.Clone(held), refs...))
	if found && slices.Equal(all, held) {
		r.store(held)
		return nil
	}
	return r.write(ctx, all, found)
}

// holds reports whether every one of refs is in held.
func holds(held, refs []kubeapply.Ref) bool {
	for _, ref := range refs {
		if !slices.ContainsFunc(held, ref.Same) {
			return false
		}
	}
	return true
}

func (r Record) key() string { return r.NS + "/" + r.App }

func (r Record) known() ([]kubeapply.Ref, bool) {
	if r.Known == nil {
		return nil, false
	}
	v, ok := r.Known.Load(r.key())
	if !ok {
		return nil, false
	}
	return v.([]kubeapply.Ref), true
}

func (r Record) store(refs []kubeapply.Ref) {
	if r.Known != nil {
		r.Known.Store(r.key(), refs)
	}
}

// Prune deletes the recorded objects that refs, the render that now runs, lacks, and
// leaves the record holding refs. It returns what it deleted.
func (r Record) Prune(ctx context.Context, refs []kubeapply.Ref) ([]kubeapply.Ref, error) {
	held, found, err := r.read(ctx)
	if err != nil || !found {
		r.forget()
		return nil, err
	}
	refs = normal(slices.Clone(refs))
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
		r.store(held)
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
		r.forget()
		return fmt.Errorf("writing the inventory %s/%s: %w", r.NS, Name(r.App), err)
	}
	r.store(refs)
	return nil
}

func (r Record) forget() {
	if r.Known != nil {
		r.Known.Delete(r.key())
	}
}

// normal sorts refs and drops repeats (the same object under another version too).
func normal(refs []kubeapply.Ref) []kubeapply.Ref {
	slices.SortFunc(refs, func(a, b kubeapply.Ref) int { return strings.Compare(a.Key(), b.Key()) })
	return slices.CompactFunc(refs, kubeapply.Ref.Same)
}
