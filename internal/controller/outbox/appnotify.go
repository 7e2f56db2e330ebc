package outbox

import (
	"context"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

// appNotify is the notify section of the app file the Promotion's Release was made
// from: its own webhooks, Slack channel and mail recipients. A Release that is gone, or
// whose file does not load, names none (the Promotion reports a broken file).
func (r *Reconciler) appNotify(ctx context.Context, p *ferryv1.Promotion) (appfile.Notify, error) {
	rel := &ferryv1.Release{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Release}, rel); err != nil {
		return appfile.Notify{}, client.IgnoreNotFound(err)
	}
	file, err := appfile.LoadBytes("release "+rel.Name, []byte(rel.Spec.AppFile), "", appfile.Options{})
	if err != nil {
		return appfile.Notify{}, nil
	}
	return file.App.Notify, nil
}

// sinksFor are the controller's sinks and, for a Promotion whose app file names
// webhooks, one CloudEvents sink per webhook, named webhook-1, webhook-2... in the
// status. A webhook written secret:NAME/KEY is read from that Secret of the
// Promotion's namespace at each send, so its URL (and any token in it) is never stored.
func (r *Reconciler) sinksFor(ctx context.Context, p *ferryv1.Promotion) ([]Sink, error) {
	if p.Annotations[ferryv1.AnnotationNotifyWebhooks] != "true" {
		return r.Sinks, nil
	}
	n, err := r.appNotify(ctx, p)
	if err != nil {
		return nil, err
	}
	sinks := slices.Clip(r.Sinks)
	for i, w := range n.Webhooks {
		s := Sink{Name: fmt.Sprintf("webhook-%d", i+1), URL: w}
		if name, key, ok := appfile.WebhookSecret(w); ok {
			s.URL, s.URLSecret = "", p.Namespace+"/"+name+"/"+key
		}
		sinks = append(sinks, s)
	}
	return sinks, nil
}
