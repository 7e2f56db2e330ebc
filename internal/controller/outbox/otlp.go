package outbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/tracing"
)

// OTLP sends the trace of each finished Promotion (internal/tracing) to an
// OpenTelemetry collector over OTLP/HTTP (protobuf). The other events are taken and
// dropped: a trace is made once, from the finished Promotion's status.
type OTLP struct {
	// Endpoint is the collector's URL; one without a path gets /v1/traces. It may hold
	// a token, so it never goes into an error.
	Endpoint string
	// Headers go with every request (an API key). Without them the exporter reads
	// OTEL_EXPORTER_OTLP_HEADERS, which a pod can take from a Secret.
	Headers map[string]string
}

// tracesURL is the endpoint with the OTLP traces path when it has none.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("the endpoint is not an http(s) URL with a host")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// sendOTLP exports the Promotion's spans when the event is its end. A failed export is
// an error, so the outbox tries again with its backoff; the spans' IDs are the same on
// every try.
func (r *Reconciler) sendOTLP(ctx context.Context, p *ferryv1.Promotion, s Sink, e ferryv1.OutboxEvent) error {
	if e.Type != "dev.ferry.promotion.finished" {
		return nil
	}
	rel := &ferryv1.Release{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Release}, rel); err != nil {
		if apierrors.IsNotFound(err) {
			// No Release, no delivery trace to join (the Promotion failed for that).
			ctrl.LoggerFrom(ctx).Info("no trace for a promotion without its release", "sink", s.Name, "release", p.Spec.Release)
			return nil
		}
		return fmt.Errorf("sink %s: the release %s: %w", s.Name, p.Spec.Release, err)
	}
	exp, err := r.otlpExporter(ctx, s)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(r.Timeout, 5*time.Second))
	defer cancel()
	var status int
	err = exp.ExportSpans(context.WithValue(ctx, statusKey{}, &status), tracing.Spans(p, rel, e.Time.Time))
	switch {
	case err == nil:
		return nil
	case status >= 200 && status < 300:
		// The collector took the request but refused some spans: the same spans would
		// be refused again.
		ctrl.LoggerFrom(ctx).Info("the collector refused some spans", "sink", s.Name, "promotion", p.Name)
		return nil
	case status != 0:
		return fmt.Errorf("sink %s answered %d", s.Name, status)
	}
	return fmt.Errorf("sink %s not reached", s.Name) // the exporter's error names the URL
}

// otlpExporter is the sink's exporter, made at its first use and kept.
func (r *Reconciler) otlpExporter(ctx context.Context, s Sink) (*otlptrace.Exporter, error) {
	if e, ok := r.exporters.Load(s.Name); ok {
		return e.(*otlptrace.Exporter), nil
	}
	endpoint, err := tracesURL(s.OTLP.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", s.Name, err)
	}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(endpoint),
		// The outbox retries, with a backoff kept in the status; retries inside the
		// exporter would hold a worker for up to a minute.
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
		otlptracehttp.WithHTTPClient(&http.Client{Timeout: cmp.Or(r.Timeout, 5*time.Second), Transport: statusTransport{http.DefaultTransport}}),
	}
	if len(s.OTLP.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(s.OTLP.Headers))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", s.Name, err)
	}
	e, _ := r.exporters.LoadOrStore(s.Name, exp)
	return e.(*otlptrace.Exporter), nil
}

// statusKey marks in a request's context where statusTransport writes the answer's
// status code: the exporter's errors do not carry it, and do carry the URL.
type statusKey struct{}

type statusTransport struct{ base http.RoundTripper }

func (t statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if code, ok := req.Context().Value(statusKey{}).(*int); ok && resp != nil {
		*code = resp.StatusCode
	}
	return resp, err
}
