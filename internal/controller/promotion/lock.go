package promotion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update

// lockStage makes this Promotion the one that acts on its stage, through a Lease per
// application and stage whose holder is the Promotion's name. Taking it is a create or
// an update conditional on the Lease's resourceVersion, so two reconciles that both read
// the stage as free cannot both win; a holder that has finished (or is gone) is taken
// over. It returns the other Promotion holding the stage, or "" once this one holds it.
func (r *Reconciler) lockStage(ctx context.Context, f *facts) (string, error) {
	me := f.prom.Name
	key := client.ObjectKey{Namespace: f.prom.Namespace, Name: leaseName(f.app.Name, f.stage.Name)}
	if taken, err := r.takeKnownLease(ctx, f, key); taken || err != nil {
		return "", err
	}
	lease := &coordinationv1.Lease{}
	err := r.Get(ctx, key, lease)
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace,
			Labels: map[string]string{ferryv1.LabelApplication: f.app.Name, ferryv1.LabelStage: f.stage.Name}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &me}}
		if err := r.Create(ctx, lease); apierrors.IsAlreadyExists(err) {
			return "another promotion", nil
		} else if err != nil {
			return "", err
		}
		r.leases.Store(key, lease.DeepCopy())
		return "", nil
	}
	if err != nil {
		return "", err
	}
	holder := ""
	if lease.Spec.HolderIdentity != nil {
		holder = *lease.Spec.HolderIdentity
	}
	if holder == me {
		return "", nil
	}
	if holder != "" {
		other := &ferryv1.Promotion{}
		err := r.Get(ctx, client.ObjectKey{Namespace: f.prom.Namespace, Name: holder}, other)
		if err == nil && !finished(other.Status.Phase) {
			return holder, nil
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return "", err
		}
	}
	lease.Spec.HolderIdentity = &me
	if err := r.Update(ctx, lease); apierrors.IsConflict(err) {
		return "another promotion", nil
	} else if err != nil {
		return "", err
	}
	r.leases.Store(key, lease.DeepCopy())
	return "", nil
}

// takeKnownLease takes the stage's Lease without reading it first when this process
// wrote it last and its holder then has finished: the update is conditional on the
// resourceVersion of that write, so it fails if anyone wrote the Lease since, as it
// would after a read. taken is false when it could not say (nothing known, a holder
// still running, or a conflict): lockStage then reads the Lease.
func (r *Reconciler) takeKnownLease(ctx context.Context, f *facts, key client.ObjectKey) (taken bool, err error) {
	known, ok := r.leases.Load(key)
	if !ok {
		return false, nil
	}
	lease := known.(*coordinationv1.Lease).DeepCopy()
	holder := ptr.Deref(lease.Spec.HolderIdentity, "")
	if holder == "" || holder == f.prom.Name {
		return false, nil
	}
	other := &ferryv1.Promotion{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: f.prom.Namespace, Name: holder}, other); err != nil || !finished(other.Status.Phase) {
		return false, client.IgnoreNotFound(err)
	}
	lease.Spec.HolderIdentity = &f.prom.Name
	if err := r.Update(ctx, lease); err != nil {
		r.leases.Delete(key)
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	r.leases.Store(key, lease.DeepCopy())
	return true, nil
}

// leaseName is the stage's Lease: readable when it fits, hashed when it would not.
func leaseName(app, stage string) string {
	name := "ferry-stage-" + app + "-" + stage
	if len(name) <= 253 {
		return name
	}
	sum := sha256.Sum256([]byte(app + "/" + stage))
	return "ferry-stage-" + hex.EncodeToString(sum[:16])
}
