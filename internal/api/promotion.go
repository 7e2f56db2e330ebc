package api

import (
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// PromotionDetail is GET .../promotions/{name}: the Promotion as stored, its
// checkpoints, approvals, analyses and hooks included, without the object's
// bookkeeping (managed fields, resource version).
type PromotionDetail struct {
	Name      string                  `json:"name"`
	Namespace string                  `json:"namespace"`
	Created   metav1.Time             `json:"created"`
	Spec      ferryv1.PromotionSpec   `json:"spec"`
	Status    ferryv1.PromotionStatus `json:"status"`
}

func (a *API) getPromotion(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	if !a.allow(w, r, Access{Verb: "get", Resource: "promotions", Namespace: ns, Name: name}) {
		return
	}
	p := &ferryv1.Promotion{}
	if err := a.Client.Get(r.Context(), client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
		a.readFailed(w, r, "promotion "+ns+"/"+name, err)
		return
	}
	writeJSON(w, http.StatusOK, PromotionDetail{Name: p.Name, Namespace: p.Namespace, Created: p.CreationTimestamp, Spec: p.Spec, Status: p.Status})
}
