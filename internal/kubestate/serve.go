package kubestate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
)

// Run watches pods and Deployments and serves their series on addr (/metrics, and
// /healthz once the caches are filled) until ctx ends.
func Run(ctx context.Context, cs kubernetes.Interface, addr string) error {
	factory := informers.NewSharedInformerFactory(cs, 10*time.Minute)
	pods := factory.Core().V1().Pods()
	deps := factory.Apps().V1().Deployments()
	// Asking for the informers registers them before the factory starts.
	pods.Informer()
	deps.Informer()
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("watching %v: the cache never filled", typ)
		}
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCollector(pods.Lister(), deps.Lister())); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		// ctx is done by now: the shutdown gets its own few seconds.
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
