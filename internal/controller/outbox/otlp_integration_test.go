//go:build integration

package outbox_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller/outbox"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// collector is an OpenTelemetry collector's OTLP/HTTP traces receiver as the protocol
// specifies it: POST /v1/traces, an ExportTraceServiceRequest in protobuf, answered
// with an ExportTraceServiceResponse. While down it answers 503 (the protocol's
// "retry later") after decoding the request.
type collector struct {
	down     atomic.Bool
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest // every one decoded, taken or not
	taken    int
	problems []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	req := &coltracepb.ExportTraceServiceRequest{}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v1/traces":
		c.problems = append(c.problems, r.Method+" "+r.URL.Path)
	case r.Header.Get("Content-Type") != "application/x-protobuf":
		c.problems = append(c.problems, "content type "+r.Header.Get("Content-Type"))
	case r.Header.Get("Authorization") != "Bearer otlp-t0ken":
		c.problems = append(c.problems, "authorization "+r.Header.Get("Authorization"))
	case err != nil || proto.Unmarshal(body, req) != nil:
		c.problems = append(c.problems, "a body that is not an ExportTraceServiceRequest")
	default:
		c.requests = append(c.requests, req)
		if c.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		c.taken++
		answer, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(answer)
		return
	}
	http.Error(w, "bad request", http.StatusBadRequest)
}

func (c *collector) seen() (requests []*coltracepb.ExportTraceServiceRequest, taken int, problems []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(requests, c.requests...), c.taken, append(problems, c.problems...)
}

// TestTraceOfADeliveryOverOTLP: the collector is down (503) when the promotion ends, so
// the export is retried with the outbox's backoff, the failures recorded without the
// endpoint; once it is up it gets the trace: the Release's UID as the trace ID, the
// Promotion's span, and one child span per step that ran, with the step's times. Every
// try sends the same spans, and no other event sends anything.
func TestTraceOfADeliveryOverOTLP(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	rc := env.Config
	col := &collector{}
	col.down.Store(true)
	srv := httptest.NewServer(col)
	defer srv.Close()
	sinks := []outbox.Sink{{Name: "otlp", OTLP: &outbox.OTLP{Endpoint: srv.URL + "?token=s3cret", Headers: map[string]string{"Authorization": "Bearer otlp-t0ken"}}}}

	c, err := kubeclient.Ferry(rc)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go testenv.ReportEveryRollout(ctx, kubernetes.NewForConfigOrDie(rc), "web-events")
	stop := start(t, rc, sinks)
	defer stop()
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}}}))
	rel := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "web-1-0-0", Namespace: "default", Labels: map[string]string{ferryv1.LabelApplication: "web"}},
		Spec: ferryv1.ReleaseSpec{Application: "web", Version: "1.0.0", Flow: "release", AppFile: appFile,
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/web", Tag: "1.0.0", Digest: "sha256:" + fmt.Sprintf("%064x", 7)}}}}
	must(t, c.Create(ctx, rel))

	p := wait(t, c, "the export fails twice while the collector is down", func(p *ferryv1.Promotion) bool {
		d := delivery(p, "otlp")
		return p.Status.Phase == ferryv1.PromotionSucceeded && d != nil && d.Attempts >= 2
	})
	d := delivery(p, "otlp")
	if d.Delivered != p.Status.EventSeq-1 || !strings.HasSuffix(d.LastError, "(dev.ferry.promotion.finished): sink otlp answered 503") ||
		strings.Contains(d.LastError, "s3cret") || strings.Contains(d.LastError, "127.0.0.1") {
		t.Errorf("delivery while down (every event before the end taken, the end retried): %+v, %d events", d, p.Status.EventSeq)
	}
	col.down.Store(false)
	p = wait(t, c, "the trace is taken", func(p *ferryv1.Promotion) bool {
		d := delivery(p, "otlp")
		return len(p.Status.Outbox) == 0 && d != nil && d.Delivered == p.Status.EventSeq
	})
	requests, taken, problems := col.seen()
	if len(problems) > 0 || taken != 1 || len(requests) < 3 {
		t.Fatalf("requests %d, taken %d, problems %v", len(requests), taken, problems)
	}
	for i, req := range requests[1:] {
		if !proto.Equal(req, requests[0]) {
			t.Errorf("try %d sent other spans than the first:\n%v\n%v", i+2, req, requests[0])
		}
	}
	must(t, c.Get(ctx, client.ObjectKeyFromObject(rel), rel))
	checkTrace(t, requests[len(requests)-1], p, rel)
}

// checkTrace compares the spans with the Promotion's status.
func checkTrace(t *testing.T, req *coltracepb.ExportTraceServiceRequest, p *ferryv1.Promotion, rel *ferryv1.Release) {
	t.Helper()
	if len(req.ResourceSpans) != 1 || len(req.ResourceSpans[0].ScopeSpans) != 1 {
		t.Fatalf("want one resource and one scope: %v", req)
	}
	if attrs := attrMap(req.ResourceSpans[0].Resource.GetAttributes()); attrs["service.name"] != "ferry" {
		t.Errorf("resource attributes %v", attrs)
	}
	spans := req.ResourceSpans[0].ScopeSpans[0].Spans
	traceID := strings.ReplaceAll(string(rel.UID), "-", "")
	root := spans[0]
	for _, s := range spans {
		if hex.EncodeToString(s.TraceId) != traceID {
			t.Errorf("span %s: trace %x, want the release's UID %s", s.Name, s.TraceId, rel.UID)
		}
	}
	if root.Name != "promote web to dev" || len(root.ParentSpanId) != 0 || root.Status.GetCode() != tracepb.Status_STATUS_CODE_UNSET {
		t.Errorf("the promotion's span: %s, parent %x, status %v", root.Name, root.ParentSpanId, root.Status)
	}
	want := map[string]string{"ferry.application": "web", "ferry.stage": "dev", "ferry.release": "web-1-0-0", "ferry.version": "1.0.0",
		"ferry.promotion": "default/web-1-0-0-dev", "ferry.result": "Succeeded"}
	if got := attrMap(root.Attributes); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the promotion's attributes:\n got %v\nwant %v", got, want)
	}
	if root.StartTimeUnixNano != uint64(p.CreationTimestamp.UnixNano()) {
		t.Errorf("the promotion's span starts at %d, the promotion was made at %s", root.StartTimeUnixNano, p.CreationTimestamp)
	}
	var steps []string
	last := root.StartTimeUnixNano
	for _, cp := range p.Status.Checkpoints {
		if cp.StartedAt == nil || cp.Phase == ferryv1.CheckpointSkipped {
			continue
		}
		steps = append(steps, cp.Name)
		last = max(last, uint64(cp.FinishedAt.UnixNano()))
		i := len(steps)
		if i >= len(spans) {
			continue
		}
		s := spans[i]
		if s.Name != cp.Name || string(s.ParentSpanId) != string(root.SpanId) ||
			s.StartTimeUnixNano != uint64(cp.StartedAt.UnixNano()) || s.EndTimeUnixNano != uint64(cp.FinishedAt.UnixNano()) {
			t.Errorf("span %d: %s parent %x %d..%d; want %s parent %x %s..%s", i, s.Name, s.ParentSpanId, s.StartTimeUnixNano, s.EndTimeUnixNano,
				cp.Name, root.SpanId, cp.StartedAt, cp.FinishedAt)
		}
	}
	if len(steps) < 5 || len(spans) != len(steps)+1 {
		t.Errorf("%d spans for the steps %v", len(spans), steps)
	}
	if root.EndTimeUnixNano < last || root.EndTimeUnixNano > last+uint64(time.Minute) {
		t.Errorf("the promotion's span ends at %d, its last step at %d", root.EndTimeUnixNano, last)
	}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[string(s.SpanId)] = true
	}
	if len(ids) != len(spans) {
		t.Errorf("%d span IDs for %d spans", len(ids), len(spans))
	}
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.GetStringValue()
	}
	return m
}
