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

// Run watches PrometheusRule objects and keeps the rule files in step, reloading
// Prometheus after each change, until ctx ends. The logger comes from ctx.
func Run(ctx context.Context, dyn dynamic.Interface, o Options) error {
	log := logr.FromContextOrDiscard(ctx)
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	factory := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 10*time.Minute)
	changed := make(chan struct{}, 1)
	inf, err := reloader.Watch(factory, Resource, changed)
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return ctx.Err()
	}
	say := reloader.Say{Server: "Prometheus", Reloaded: "Prometheus reloaded its rules", CountKey: "ruleFiles"}
	return reloader.Loop(ctx, o.Client, o.PrometheusURL, changed, say, func() (bool, int, error) {
		objs, err := inf.Lister().List(labels.Everything())
		if err != nil {
			return false, 0, err
		}
		wrote, err := Sync(o.Dir, files(log, objs))
		return wrote, len(objs), err
	})
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
