package promotion

import (
	"context"
	"slices"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

// +kubebuilder:rbac:groups=ferry.dev,resources=extensions,verbs=get;list;watch

// ExtensionHookPrefix starts the hook name of an Extension, so that it never shares a
// name (and an answer annotation) with a hook of the app file.
const ExtensionHookPrefix = "ext."

// extensionHooks are the Extensions of the Promotion's namespace that subscribe to the
// step for its stage and application, as webhook hooks, in name order.
func (r *Reconciler) extensionHooks(ctx context.Context, p *ferryv1.Promotion, step string) ([]appfile.Hook, error) {
	var list ferryv1.ExtensionList
	if err := r.List(ctx, &list, client.InNamespace(p.Namespace)); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	var out []appfile.Hook
	for _, e := range list.Items {
		if subscribes(e.Spec, p, step) {
			out = append(out, extensionHook(e))
		}
	}
	return out, nil
}

// subscribes says whether the Extension wants this step of this Promotion.
func subscribes(s ferryv1.ExtensionSpec, p *ferryv1.Promotion, step string) bool {
	return s.Step == step &&
		(len(s.Stages) == 0 || slices.Contains(s.Stages, p.Spec.Stage)) &&
		(len(s.Applications) == 0 || slices.Contains(s.Applications, p.Spec.Application))
}

// extensionHook is the webhook hook an Extension stands for.
func extensionHook(e ferryv1.Extension) appfile.Hook {
	h := &appfile.WebhookHook{Name: ExtensionHookPrefix + e.Name, URL: e.Spec.URL, Headers: e.Spec.Headers}
	if e.Spec.TimeoutSeconds > 0 {
		t := int(e.Spec.TimeoutSeconds)
		h.TimeoutSeconds = &t
	}
	if ref := e.Spec.SecretRef; ref != nil {
		h.SecretRef = &appfile.SecretRef{Name: ref.Name, Key: ref.Key}
	}
	return appfile.Hook{Webhook: h}
}
