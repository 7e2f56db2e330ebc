package rulefiles

import (
	"context"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"ferry.dev/ferry/internal/reloader"
)

// Resource is the prometheus-operator's PrometheusRule resource.
var Resource = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}

// Options are where the rule files go and which Prometheus reads them.
type Options struct {
	// Dir holds the rule files; it belongs to Run, which removes .yaml files it did not write.
	Dir string
	// PrometheusURL is the base URL of the Prometheus to reload (its lifecycle API must
	// be on); empty: no reload.
	PrometheusURL string
	// Client sends the reload request; nil: a client with a 10 s timeout.
	Client *http.Client
}

// The wait before the next reload after one failed (Prometheus not up yet, or a rule it
// refuses), doubling up to the maximum.
const (
	retryFirst = time.Second
	retryMax   = time.Minute
)

// Run watches PrometheusRule objects and keeps the rule files in step, reloading
// Prometheus after each change, until ctx ends. The logger comes from ctx.
func Run(ctx context.Context, dyn dynamic.Interface, o Options) error {
	log := logr.FromContextOrDiscard(ctx)
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	factory := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 10*time.Minute)
	inf := factory.ForResource(Resource)
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, DeleteFunc: poke, UpdateFunc: func(_, n any) { poke(n) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return ctx.Err()
	}
	pending, retry := false, retryFirst
	for {
		objs, err := inf.Lister().List(labels.Everything())
		if err != nil {
			return err
		}
		wrote, err := Sync(o.Dir, files(log, objs))
		if err != nil {
			return err
		}
		if wrote {
			pending, retry = true, retryFirst
		}
		var again <-chan time.Time
		if pending {
			if err := reloader.Reload(ctx, o.Client, o.PrometheusURL); err != nil {
				log.Error(err, "reloading Prometheus", "retryIn", retry.String())
				again = time.After(retry)
				retry = min(2*retry, retryMax)
			} else {
				log.Info("Prometheus reloaded its rules", "ruleFiles", len(objs))
				pending = false
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			// Let a burst of changes settle into one write and one reload.
			time.Sleep(200 * time.Millisecond)
		case <-again:
		}
	}
}

// files renders every rule; one that cannot be rendered is logged and left out, as the
// operator leaves out a rule it finds invalid, so it does not hold back the others.
func files(log logr.Logger, objs []runtime.Object) map[string][]byte {
	out := map[string][]byte{}
	for _, o := range objs {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		b, err := Render(u)
		if err != nil {
			log.Error(err, "skipping a PrometheusRule", "namespace", u.GetNamespace(), "name", u.GetName())
			continue
		}
		out[FileName(u.GetNamespace(), u.GetName())] = b
	}
	return out
}
