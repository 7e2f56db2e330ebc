//go:build integration

package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/controller/outbox"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

const appFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-events
  helm:
    values:
      scaling: {enabled: false, min: 1}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// receiver is a CloudEvents sink over HTTP (binary mode) that can be down: it then
// answers 503 and keeps nothing.
type receiver struct {
	down atomic.Bool
	mu   sync.Mutex
	got  []received
	ids  map[string]bool
}

type received struct {
	seq        int
	id, typ    string
	source     string
	contentTyp string
	body       string
	at         time.Time
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rv.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var body strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	seq, _ := strconv.Atoi(r.Header.Get("Ce-Sequence"))
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if id := r.Header.Get("Ce-Id"); !rv.ids[id] { // a repeat of a delivered event is acknowledged, not kept
		rv.ids[id] = true
		rv.got = append(rv.got, received{seq: seq, id: id, typ: r.Header.Get("Ce-Type"), source: r.Header.Get("Ce-Source"),
			contentTyp: r.Header.Get("Content-Type"), body: body.String(), at: time.Now()})
	}
	w.WriteHeader(http.StatusAccepted)
}

func (rv *receiver) events() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]received(nil), rv.got...)
}

// TestSinkDownThenUpAcrossARestart: the sink is down for a minute while a release goes
// through dev, so every event waits in the Promotion's outbox with the failures
// counted; meanwhile the controller stops and another starts, which goes on counting
// from the saved attempts; the sink comes back and receives every event once, in
// order, within one backoff, with nothing left in the outbox.
func TestSinkDownThenUpAcrossARestart(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	rc := env.Config
	rv := &receiver{ids: map[string]bool{}}
	rv.down.Store(true)
	downSince := time.Now()
	srv := httptest.NewServer(rv)
	defer srv.Close()
	sinks := []outbox.Sink{{Name: "audit", URL: srv.URL + "/events?token=s3cret"}}

	c, err := kubeclient.Ferry(rc)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go testenv.ReportEveryRollout(ctx, cs, "web-events")
	stop := start(t, rc, sinks)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}}}))
	must(t, c.Create(ctx, &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "web-1-0-0", Namespace: "default", Labels: map[string]string{ferryv1.LabelApplication: "web"}},
		Spec: ferryv1.ReleaseSpec{Application: "web", Version: "1.0.0", Flow: "release", AppFile: appFile,
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/web", Tag: "1.0.0", Digest: "sha256:" + fmt.Sprintf("%064x", 7)}}}}))

	p := wait(t, c, "the promotion ends while the sink is down, its events kept", func(p *ferryv1.Promotion) bool {
		d := delivery(p, "audit")
		return p.Status.Phase == ferryv1.PromotionSucceeded && len(p.Status.Outbox) == int(p.Status.EventSeq) && d != nil && d.Attempts >= 2
	})
	d := delivery(p, "audit")
	if d.Delivered != 0 || !strings.Contains(d.LastError, "event 1 (dev.ferry.release.created): sink audit answered 503") || strings.Contains(d.LastError, "s3cret") {
		t.Errorf("delivery while down: %+v", d)
	}
	if len(rv.events()) != 0 {
		t.Fatalf("a down sink kept events: %v", rv.events())
	}
	// The failure is told once as an Event on the Promotion, without the sink's URL.
	testenv.Eventually(t, 10*time.Second, func() error {
		list, err := cs.EventsV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=web-1-0-0-dev,reason=NotificationFailed"})
		if err != nil {
			return err
		}
		if len(list.Items) != 1 || !strings.HasPrefix(list.Items[0].Note, "sink audit: event 1 (dev.ferry.release.created): sink audit answered 503; trying again in ") ||
			strings.Contains(list.Items[0].Note, "s3cret") {
			return fmt.Errorf("events %+v", list.Items)
		}
		return nil
	})
	stop()

	attempts := d.Attempts
	stop = start(t, rc, sinks)
	defer stop()
	time.Sleep(time.Until(downSince.Add(downFor)))
	must(t, c.Get(ctx, client.ObjectKeyFromObject(p), p))
	downAttempts := delivery(p, "audit").Attempts
	if d := delivery(p, "audit"); d.Attempts <= attempts || d.Delivered != 0 {
		t.Errorf("after the restart, still down: %+v; %d attempts were saved before it", d, attempts)
	}
	rv.down.Store(false)
	up := time.Now()
	p = wait(t, c, "every event delivered after the restart", func(p *ferryv1.Promotion) bool {
		d := delivery(p, "audit")
		return len(p.Status.Outbox) == 0 && d != nil && d.Delivered == p.Status.EventSeq
	})
	got := rv.events()
	t.Logf("sink down %s, %d attempts (%d before the restart); every event delivered %s after it came back", up.Sub(downSince).Round(time.Second),
		downAttempts, attempts, got[len(got)-1].at.Sub(up).Round(time.Millisecond))
	if late := got[0].at.Sub(up); late > 3*time.Second {
		t.Errorf("the first event came %s after the sink came back; the backoff is at most 2 s", late)
	}
	var types []string
	for i, e := range got {
		if e.seq != i+1 || e.id != fmt.Sprintf("%s-%d", p.UID, i+1) || e.source != "ferry.dev/default/promotions/web-1-0-0-dev" || e.contentTyp != "application/json" {
			t.Errorf("event %d: %+v", i+1, e)
		}
		types = append(types, e.typ)
	}
	if len(got) != int(p.Status.EventSeq) {
		t.Errorf("received %d events, the promotion raised %d", len(got), p.Status.EventSeq)
	}
	// The release, then freeze, upstream, approval (none needed), preDeploy, deploy,
	// postDeploy, tests, done.
	want := []string{"dev.ferry.release.created", "dev.ferry.promotion.started", "dev.ferry.step.started", "dev.ferry.step.finished", "dev.ferry.step.started", "dev.ferry.step.finished",
		"dev.ferry.step.started", "dev.ferry.step.finished", "dev.ferry.hook.started", "dev.ferry.hook.finished",
		"dev.ferry.deployment.started", "dev.ferry.deployment.finished", "dev.ferry.hook.started", "dev.ferry.hook.finished",
		"dev.ferry.hook.started", "dev.ferry.hook.finished", "dev.ferry.step.finished", "dev.ferry.promotion.finished"}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("event types in order:\n got %v\nwant %v", types, want)
	}
	if last := got[len(got)-1].body; !strings.Contains(last, `"application":"web"`) || !strings.Contains(last, `"stage":"dev"`) ||
		!strings.Contains(last, `"reason":"PromotionSucceeded"`) || !strings.Contains(last, `"version":"1.0.0"`) {
		t.Errorf("the last event's data: %s", last)
	}
}

// downFor is how long the sink is down: a minute, as an outage of a receiver may be.
const downFor = time.Minute

// start runs a controller with the sinks until the returned stop is called.
func start(t *testing.T, rc *rest.Config, sinks []outbox.Sink) func() {
	t.Helper()
	return startWith(t, rc, controller.Options{EventSinks: sinks, EventMaxBackoff: 2 * time.Second})
}

// startWith runs a controller with the options until the returned stop is called.
func startWith(t *testing.T, rc *rest.Config, o controller.Options) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	o.MetricsAddr, o.ProbeAddr, o.SeveralPerProcess = "0", "0", true
	go func() { done <- controller.Run(ctx, rc, o) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("controller: %v", err)
			}
		})
	}
}

func delivery(p *ferryv1.Promotion, sink string) *ferryv1.SinkDelivery {
	for i := range p.Status.Deliveries {
		if p.Status.Deliveries[i].Sink == sink {
			return &p.Status.Deliveries[i]
		}
	}
	return nil
}

// wait polls the Promotion web-1-0-0-dev (or the one named) until ok says yes.
func wait(t *testing.T, c client.Client, what string, ok func(*ferryv1.Promotion) bool, name ...string) *ferryv1.Promotion {
	t.Helper()
	p := &ferryv1.Promotion{}
	key := client.ObjectKey{Namespace: "default", Name: "web-1-0-0-dev"}
	if len(name) > 0 {
		key.Name = name[0]
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := c.Get(context.Background(), key, p); err == nil && ok(p) {
			return p
		}
	}
	t.Fatalf("%s: not within 60 s; status %+v", what, p.Status)
	return nil
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAppWebhooks: an app file's own webhooks (notify.webhooks) get the events of its
// deliveries with no sink configured in the controller, one by its URL and one by a
// Secret that holds the URL and its token, which never shows in the status; another
// app's deliveries keep no outbox.
func TestAppWebhooks(t *testing.T) {
	rc := testenv.Start(t, "../../../config/crd")
	plain, secret := &receiver{ids: map[string]bool{}}, &receiver{ids: map[string]bool{}}
	srvPlain, srvSecret := httptest.NewServer(plain), httptest.NewServer(secret)
	defer srvPlain.Close()
	defer srvSecret.Close()
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go testenv.ReportEveryRollout(ctx, cs, "web-events")
	_, err = cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hooks"},
		Data: map[string][]byte{"url": []byte(srvSecret.URL + "/in?token=s3cret\n")}}, metav1.CreateOptions{})
	must(t, err)
	defer start(t, rc, nil)()
	withHooks := strings.Replace(appFile, "deploy:", "notify: {webhooks: [\""+srvPlain.URL+"/events\", \"secret:hooks/url\"]}\ndeploy:", 1)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	for _, app := range []struct{ name, file string }{{"web", withHooks}, {"quiet", strings.ReplaceAll(appFile, "web", "quiet")}} {
		must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: app.name, Namespace: "default"},
			Spec: ferryv1.ApplicationSpec{AppFile: app.file, Stages: []ferryv1.StageSpec{{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}}}))
		must(t, c.Create(ctx, &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: app.name + "-1-0-0", Namespace: "default", Labels: map[string]string{ferryv1.LabelApplication: app.name}},
			Spec: ferryv1.ReleaseSpec{Application: app.name, Version: "1.0.0", Flow: "release", AppFile: app.file,
				Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/" + app.name, Tag: "1.0.0", Digest: "sha256:" + fmt.Sprintf("%064x", 7)}}}}))
	}
	go testenv.ReportEveryRollout(ctx, cs, "quiet-events")
	p := wait(t, c, "both webhooks have every event", func(p *ferryv1.Promotion) bool {
		one, two := delivery(p, "webhook-1"), delivery(p, "webhook-2")
		return p.Status.Phase == ferryv1.PromotionSucceeded && len(p.Status.Outbox) == 0 && one != nil && two != nil &&
			one.Delivered == p.Status.EventSeq && two.Delivered == p.Status.EventSeq
	})
	for name, rv := range map[string]*receiver{"plain": plain, "secret": secret} {
		got := rv.events()
		if len(got) != int(p.Status.EventSeq) || got[0].typ != "dev.ferry.release.created" || got[len(got)-1].typ != "dev.ferry.promotion.finished" {
			t.Errorf("%s webhook got %d events (the promotion raised %d): first %+v", name, len(got), p.Status.EventSeq, got[0])
		}
		for i, e := range got {
			if e.seq != i+1 {
				t.Errorf("%s webhook: event %d has sequence %d", name, i+1, e.seq)
			}
		}
	}
	if raw, _ := json.Marshal(p.Status); strings.Contains(string(raw), "s3cret") || strings.Contains(string(raw), srvSecret.URL) {
		t.Errorf("the status shows the Secret's URL: %s", raw)
	}
	quiet := wait(t, c, "the other app's promotion ends", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded }, "quiet-1-0-0-dev")
	if quiet.Status.EventSeq != 0 || len(quiet.Status.Deliveries) != 0 {
		t.Errorf("an app without webhooks kept events: %d, %+v", quiet.Status.EventSeq, quiet.Status.Deliveries)
	}
}
