// Package controller wires Ferry's reconcilers into one controller-runtime manager with
// leader election, Prometheus metrics and health endpoints.
package controller

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/admission"
	"ferry.dev/ferry/internal/controller/application"
	"ferry.dev/ferry/internal/controller/changerecord"
	"ferry.dev/ferry/internal/controller/extension"
	"ferry.dev/ferry/internal/controller/imagewatch"
	"ferry.dev/ferry/internal/controller/outbox"
	"ferry.dev/ferry/internal/controller/promotion"
	"ferry.dev/ferry/internal/controller/release"
	"ferry.dev/ferry/internal/deliverymetrics"
	"ferry.dev/ferry/internal/messages"
	"ferry.dev/ferry/internal/render"
)

// Options are the process wiring of `ferry controller`.
type Options struct {
	// MetricsAddr serves /metrics ("0" turns it off); ProbeAddr serves /healthz and /readyz.
	MetricsAddr string
	ProbeAddr   string
	// PprofAddr serves Go's profiles when set.
	PprofAddr string
	// LeaderElection lets several replicas run with one active; LeaderElectionNamespace
	// holds the Lease.
	LeaderElection          bool
	LeaderElectionNamespace string
	// Namespace limits the controller to one namespace ("" is all).
	Namespace string
	// Workers is how many objects of each kind are reconciled at once (default 16): a
	// reconcile mostly waits on the API server, so more workers than cores pay.
	Workers int
	// QPS and Burst bound the controller's requests to the API server (default 100
	// and 200); the client library's defaults are too low for a thousand applications.
	QPS   float32
	Burst int
	// PromotionHistory is how many finished Promotions of each stage are kept (default
	// 20; negative keeps all).
	PromotionHistory int
	// WebhookAddr, when set, serves the validating admission webhook there (host:port)
	// and installs its configuration; WebhookURL is the base URL the API server calls
	// (default https://WebhookAddr).
	WebhookAddr string
	WebhookURL  string
	// SeveralPerProcess allows more than one manager in a process (tests start one per
	// API server); controller names are otherwise unique per process.
	SeveralPerProcess bool
	// EventSinks receive every Promotion's events: CloudEvents, Slack replies, mail or traces
	// (none: no outbox is kept);
	// EventMaxBackoff bounds the wait between tries of a sink that failed (default 1m).
	EventSinks      []outbox.Sink
	EventMaxBackoff time.Duration
	// Builder runs the build Jobs of Releases made from a commit (nil: none runs).
	Builder *release.Builder
	// Messages are the templates of Slack and mail messages (default: built in).
	Messages *messages.Set
	// ServiceNow, when set, mirrors every change record as a ServiceNow change request.
	ServiceNow *changerecord.ServiceNow
}

// Scheme holds the kinds the controller reads and writes.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := ferryv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// webhookServer makes the admission webhook's server, its certificate valid for the
// host of WebhookURL (which it defaults).
func webhookServer(o *Options) (webhook.Server, []byte, error) {
	if o.WebhookURL == "" {
		o.WebhookURL = "https://" + o.WebhookAddr
	}
	u, err := url.Parse(o.WebhookURL)
	if err != nil || u.Hostname() == "" {
		return nil, nil, fmt.Errorf("webhook URL %q: not a URL with a host", o.WebhookURL)
	}
	dir, err := os.MkdirTemp("", "ferry-webhook-")
	if err != nil {
		return nil, nil, err
	}
	return admission.Server(o.WebhookAddr, u.Hostname(), dir)
}

// Run starts the manager and blocks until ctx ends. It logs through the logger in ctx
// (none: discarded).
func Run(ctx context.Context, rc *rest.Config, o Options) error {
	ctrl.SetLogger(logr.FromContextOrDiscard(ctx))
	scheme, err := Scheme()
	if err != nil {
		return err
	}
	mopts := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:  o.ProbeAddr,
		PprofBindAddress:        o.PprofAddr,
		LeaderElection:          o.LeaderElection,
		LeaderElectionID:        "ferry-controller.ferry.dev",
		LeaderElectionNamespace: o.LeaderElectionNamespace,
	}
	if o.Namespace != "" {
		mopts.Cache.DefaultNamespaces = map[string]cache.Config{o.Namespace: {}}
	}
	// Only the Deployments Ferry wrote are watched, in whatever namespace their stage
	// uses; Secrets (cluster credentials) are read when needed, never all cached, and
	// stage Leases are read fresh, as a lock must be.
	ours, err := labels.Parse(render.LabelApplication)
	if err != nil {
		return err
	}
	// Of the ReplicaSets, only those of a canary's tracks (they carry a track label):
	// their pods being available is a canary step's end, seen before a Deployment says so.
	canaries, err := labels.Parse(promotion.LabelTrack)
	if err != nil {
		return err
	}
	mopts.Cache.ByObject = map[client.Object]cache.ByObject{
		&appsv1.Deployment{}: {Label: ours, Namespaces: map[string]cache.Config{cache.AllNamespaces: {}}},
		&appsv1.ReplicaSet{}: {Label: canaries, Namespaces: map[string]cache.Config{cache.AllNamespaces: {}}},
		// Of the pods, those of the applications Ferry renders, slim: a canary's round
		// is done when its pods are, which they say before their ReplicaSet does.
		&corev1.Pod{}: {Label: ours, Namespaces: map[string]cache.Config{cache.AllNamespaces: {}}, Transform: promotion.SlimPod},
	}
	mopts.Client.Cache = &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &coordinationv1.Lease{}, &corev1.ConfigMap{}}}
	// Nothing reads managed fields: not keeping them saves a good part of the cache.
	mopts.Cache.DefaultTransform = cache.TransformStripManagedFields()
	mopts.Controller = ctrlconfig.Controller{MaxConcurrentReconciles: cmp.Or(o.Workers, 16)}
	if o.SeveralPerProcess {
		skip := true
		mopts.Controller.SkipNameValidation = &skip
	}
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = cmp.Or(o.QPS, 100), cmp.Or(o.Burst, 200)
	var caPEM []byte
	if o.WebhookAddr != "" {
		if mopts.WebhookServer, caPEM, err = webhookServer(&o); err != nil {
			return err
		}
	}
	mgr, err := ctrl.NewManager(rc, mopts)
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	if o.WebhookAddr != "" {
		admission.Register(mgr.GetWebhookServer(), mgr.GetAPIReader(), scheme)
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return err
		}
		if err := admission.Install(ctx, cs, o.WebhookURL, caPEM); err != nil {
			return fmt.Errorf("installing the admission webhook: %w", err)
		}
	}
	if err := (&application.Reconciler{Client: mgr.GetClient(), Keep: cmp.Or(o.PromotionHistory, 20)}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the application reconciler: %w", err)
	}
	if err := (&release.Reconciler{Client: mgr.GetClient(), Builder: o.Builder}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the release reconciler: %w", err)
	}
	if err := (&promotion.Reconciler{Client: mgr.GetClient(), LocalConfig: rc, Events: mgr.GetEventRecorder("ferry-controller"),
		RecordEvents: len(o.EventSinks) > 0}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the promotion reconciler: %w", err)
	}
	if err := (&changerecord.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ServiceNow: o.ServiceNow,
		Events: mgr.GetEventRecorder("ferry-controller")}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the change record reconciler: %w", err)
	}
	if err := (&extension.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the extension reconciler: %w", err)
	}
	if err := (&imagewatch.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the image watch reconciler: %w", err)
	}
	// Always: an app file's own webhooks (notify.webhooks) need it without sinks here.
	if err := (&outbox.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Sinks: o.EventSinks, MaxBackoff: o.EventMaxBackoff,
		Messages: o.Messages, Events: mgr.GetEventRecorder("ferry-controller")}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the outbox reconciler: %w", err)
	}

	// The DORA figures of the last 30 days, computed from the cache at each scrape.
	if err := deliverymetrics.Serve(&deliverymetrics.DORA{Reader: mgr.GetClient(), Window: 30 * 24 * time.Hour, Now: time.Now}); err != nil {
		return fmt.Errorf("registering the DORA metrics: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	return mgr.Start(ctx)
}
