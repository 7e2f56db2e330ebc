package promotion

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// milestones are the Promotion events that people also look for on the Release and the
// Application (`kubectl describe release|application`): how each stage ended. The steps
// and the approvals stay on the Promotion: every extra Event is an API write, and a
// thousand deliveries' worth of them kept the controller busy writing after the burst
// (make bench-engine: idle CPU 0.026 cores and 51 MiB more when starts and approvals
// were mirrored too).
var milestones = map[string]bool{
	"PromotionSucceeded": true, "PromotionFailed": true, "Superseded": true, "RolledBack": true, "RollbackFailed": true,
}

// mirror records a milestone of the Promotion on its Release and its Application too,
// the note prefixed with the stage.
func (r *Reconciler) mirror(p *ferryv1.Promotion, eventType, reason, action, note string) {
	if r.Events == nil || !milestones[reason] {
		return
	}
	note = p.Spec.Stage + ": " + note
	for _, o := range r.owners(p) {
		r.Events.Eventf(o, p, eventType, reason, action, "%s", note)
	}
}

// owners are the Release (from the Promotion's owner reference, which has its UID) and
// the Application (from the cache); either is left out when it cannot be named.
func (r *Reconciler) owners(p *ferryv1.Promotion) []runtime.Object {
	var out []runtime.Object
	for _, ref := range p.OwnerReferences {
		if ref.Kind == "Release" && ref.Name == p.Spec.Release {
			out = append(out, &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: ref.Name, Namespace: p.Namespace, UID: ref.UID}})
		}
	}
	app := &ferryv1.Application{}
	if err := r.Get(context.Background(), client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Application}, app); err == nil {
		out = append(out, app)
	}
	return out
}
