package admission

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// Paths the webhook serves.
const (
	PromotionPath = "/validate-ferry-dev-v1alpha1-promotion"
	ReleasePath   = "/validate-ferry-dev-v1alpha1-release"
)

// Register adds the handlers to the server. reader reads Applications and Releases
// straight from the API server: a Release created a moment ago must be found.
func Register(srv webhook.Server, reader client.Reader, scheme *runtime.Scheme) {
	dec := admission.NewDecoder(scheme)
	srv.Register(PromotionPath, &webhook.Admission{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		p := &ferryv1.Promotion{}
		if err := dec.Decode(req, p); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		app, rel := &ferryv1.Application{}, &ferryv1.Release{}
		if err := get(ctx, reader, p.Namespace, p.Spec.Application, &app); err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		if err := get(ctx, reader, p.Namespace, p.Spec.Release, &rel); err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		return verdict(req, CheckPromotion(p, app, rel))
	})})
	srv.Register(ReleasePath, &webhook.Admission{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		rel := &ferryv1.Release{}
		if err := dec.Decode(req, rel); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		app := &ferryv1.Application{}
		if err := get(ctx, reader, rel.Namespace, rel.Spec.Application, &app); err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		return verdict(req, CheckRelease(rel, app))
	})})
}

// get reads the object into *obj, or sets *obj to nil when it does not exist.
func get[T client.Object](ctx context.Context, r client.Reader, ns, name string, obj *T) error {
	err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, *obj)
	if apierrors.IsNotFound(err) {
		var zero T
		*obj = zero
		return nil
	}
	return err
}

func verdict(req admission.Request, err error) admission.Response {
	if req.Operation != admissionv1.Create {
		return admission.Allowed("")
	}
	if err != nil {
		return admission.Denied(strings.TrimSpace(fmt.Sprintf("%s %s", req.Kind.Kind, req.Name)) + ": " + err.Error())
	}
	return admission.Allowed("")
}
