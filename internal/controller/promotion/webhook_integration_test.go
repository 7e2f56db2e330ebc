//go:build integration

package promotion_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
	"ferry.dev/ferry/internal/webhookhook"
)

const signingKey = "shared-signing-key-0123"

// webhookApp is an app file whose pre-deploy (and, when post is set, post-deploy) hook
// is a signed webhook named gate, calling the receiver at the given paths.
func webhookApp(url, pre, post string) string {
	f := `build: {buildType: go, artifact: web}
deploy:
  namespace: web-webhook
  preDeploy:
    - webhook: {name: gate, url: "` + url + pre + `", secretRef: {name: hook-secret}, timeoutSeconds: 120}
`
	if post != "" {
		f += `  postDeploy:
    - webhook: {name: gate, url: "` + url + post + `", secretRef: {name: hook-secret, key: secret}, timeoutSeconds: 120}
`
	}
	return f + `  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`
}

// call is one call the receiver took, its signature checked.
type call struct {
	payload webhookhook.Payload
	at      time.Time
	header  http.Header
}

// receiver stands in for the outside system, on loopback: it refuses a call whose
// signature does not verify with the Secret's key, and answers each path as the test
// says, one status per call (the last repeats).
type receiver struct {
	mu      sync.Mutex
	answers map[string][]int
	calls   map[string][]call
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhookhook.Verify([]byte(signingKey), body, r.Header.Get(webhookhook.SignatureHeader)); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p webhookhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rv.mu.Lock()
	rv.calls[r.URL.Path] = append(rv.calls[r.URL.Path], call{p, time.Now(), r.Header.Clone()})
	statuses := rv.answers[r.URL.Path]
	status := statuses[min(len(rv.calls[r.URL.Path]), len(statuses))-1]
	rv.mu.Unlock()
	w.WriteHeader(status)
	switch status {
	case http.StatusOK:
		fmt.Fprint(w, "checks green")
	case http.StatusBadRequest:
		fmt.Fprint(w, "stage dev is frozen by the change board")
	}
}

func (rv *receiver) callsTo(path string) []call {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]call(nil), rv.calls[path]...)
}

// TestWebhookHooks runs webhook hooks against a receiver on loopback that verifies each
// call's signature with the key of the hook's Secret: 200 passes; 400 fails the
// Promotion naming the hook and the answer; 202 waits, across a restart of the
// controller without a second call, for the answer the outside system leaves in the
// Promotion's annotation, and a post-deploy hook of the same name is not taken in by
// the pre-deploy hook's answer; 503 twice then 200 passes after three attempts spaced
// by the backoff.
func TestWebhookHooks(t *testing.T) {
	rc := testenv.Start(t, "../../../config/crd")
	rv := &receiver{answers: map[string][]int{
		"/ok": {200}, "/refuse": {400}, "/later-pre": {202}, "/later-post": {202}, "/flaky": {503, 503, 200}},
		calls: map[string][]call{}}
	srv := httptest.NewServer(rv)
	defer srv.Close()

	ctx := context.Background()
	stop := startController(t, rc)
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	_, err = cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook-secret"},
		Data: map[string][]byte{"secret": []byte(signingKey)}}, metav1.CreateOptions{})
	must(t, err)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: webhookApp(srv.URL, "/ok", ""), Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	deliver := func(version, digest, appFile string) string {
		rel := newRelease(version, digest)
		rel.Spec.AppFile = appFile
		rel.Spec.Git = &ferryv1.GitInfo{Commit: "0123abcd", Branch: "main", RepoURL: "https://git.example.com/team/web"}
		must(t, c.Create(ctx, rel))
		return rel.Name + "-dev"
	}

	// 200: the hook passes, the deploy follows, the Promotion succeeds.
	name := deliver("1.0.0", digest, webhookApp(srv.URL, "/ok", ""))
	waitDeployed(t, cs, "web-webhook", "registry.example.com/web@"+digest)
	reportRolledOut(t, cs, "web-webhook", "web")
	p := waitPromotion(t, c, name, func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	calls := rv.callsTo("/ok")
	if len(calls) != 1 {
		t.Fatalf("/ok was called %d times, want once", len(calls))
	}
	want := webhookhook.Payload{Type: webhookhook.PayloadType, Hook: "gate", Phase: ferryv1.StepPreDeploy, Application: "web", Stage: "dev",
		Version: "1.0.0", Release: "web-1-0-0", Promotion: name, Namespace: "default",
		Images:  webhookhook.Images{App: "registry.example.com/web@" + digest},
		Git:     webhookhook.Git{Commit: "0123abcd", Branch: "main", RepoURL: "https://git.example.com/team/web"},
		Attempt: 1, SentAt: calls[0].payload.SentAt}
	if calls[0].payload != want {
		t.Errorf("payload\n%+v\nwant\n%+v", calls[0].payload, want)
	}
	if got := hookOf(p, ferryv1.StepPreDeploy, "gate"); got.Phase != ferryv1.HookSucceeded || got.Kind != ferryv1.HookKindWebhook ||
		got.Attempts != 1 || got.Message != "passed (200): checks green" {
		t.Errorf("hook status %+v", got)
	}

	// 400: refused; the Promotion fails before deploying, naming the hook and the answer.
	name = deliver("1.1.0", digest2, webhookApp(srv.URL, "/refuse", ""))
	p = waitPromotion(t, c, name, func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	wantMsg := "webhook hook gate failed: " + srv.URL + "/refuse answered 400 Bad Request: stage dev is frozen by the change board"
	if p.Status.Message != wantMsg || checkpointPhase(p, ferryv1.StepPreDeploy) != ferryv1.CheckpointFailed || checkpointPhase(p, ferryv1.StepDeploy) != "" {
		t.Errorf("message %q (want %q), checkpoints %+v", p.Status.Message, wantMsg, p.Status.Checkpoints)
	}

	// 202: accepted; the answer comes later in the annotation. A restarted controller
	// waits for it without calling again.
	name = deliver("1.2.0", digest3, webhookApp(srv.URL, "/later-pre", "/later-post"))
	p = waitPromotion(t, c, name, func(p *ferryv1.Promotion) bool {
		return hookOf(p, ferryv1.StepPreDeploy, "gate").Phase == ferryv1.HookWaiting
	})
	if msg := checkpointMessage(p, ferryv1.StepPreDeploy); msg != "webhook hook gate accepted the call; waiting for its answer in the annotation hooks.ferry.dev/gate" {
		t.Errorf("waiting message %q", msg)
	}
	stop()
	stop = startController(t, rc)
	answer(t, c, name, `{"result":"pass","message":"change CHG-42 approved"}`)
	waitDeployed(t, cs, "web-webhook", "registry.example.com/web@"+digest3)
	reportRolledOut(t, cs, "web-webhook", "web")
	// The post-deploy hook of the same name is called, and waits for its own answer:
	// the pre-deploy hook's "pass" was cleared before the call.
	p = waitPromotion(t, c, name, func(p *ferryv1.Promotion) bool {
		return hookOf(p, ferryv1.StepPostDeploy, "gate").Phase == ferryv1.HookWaiting
	})
	if _, ok := p.Annotations[webhookhook.AnnotationKey("gate")]; ok {
		t.Errorf("the pre-deploy hook's answer is still there: %v", p.Annotations)
	}
	answer(t, c, name, `{"result":"fail","message":"perf too slow"}`)
	waitDeployed(t, cs, "web-webhook", "registry.example.com/web@"+digest) // back to 1.0.0
	reportRolledOut(t, cs, "web-webhook", "web")
	p = waitPromotion(t, c, name, func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	if want := "postDeploy failed: webhook hook gate answered fail: perf too slow; rolled back to 1.0.0, whose tests passed"; p.Status.Message != want {
		t.Errorf("message %q, want %q", p.Status.Message, want)
	}
	if pre, post := len(rv.callsTo("/later-pre")), len(rv.callsTo("/later-post")); pre != 1 || post != 1 {
		t.Errorf("pre-deploy hook called %d times, post-deploy hook %d times; want once each", pre, post)
	}
	if got := hookOf(p, ferryv1.StepPreDeploy, "gate"); got.Phase != ferryv1.HookSucceeded || got.Message != "answered pass: change CHG-42 approved" {
		t.Errorf("pre-deploy hook status %+v", got)
	}

	// 503, 503, 200: retried after the backoff, and passes on the third attempt.
	name = deliver("1.3.0", "sha256:"+fmt.Sprintf("%064x", 10), webhookApp(srv.URL, "/flaky", ""))
	waitDeployed(t, cs, "web-webhook", "registry.example.com/web@sha256:"+fmt.Sprintf("%064x", 10))
	reportRolledOut(t, cs, "web-webhook", "web")
	p = waitPromotion(t, c, name, func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	if got := hookOf(p, ferryv1.StepPreDeploy, "gate"); got.Attempts != 3 || got.Phase != ferryv1.HookSucceeded {
		t.Errorf("hook status %+v, want succeeded after 3 attempts", got)
	}
	calls = rv.callsTo("/flaky")
	if len(calls) != 3 {
		t.Fatalf("/flaky was called %d times, want 3", len(calls))
	}
	for i, cl := range calls {
		if cl.payload.Attempt != i+1 || cl.header.Get(webhookhook.DeliveryHeader) != calls[0].header.Get(webhookhook.DeliveryHeader) {
			t.Errorf("call %d: attempt %d, delivery %s", i, cl.payload.Attempt, cl.header.Get(webhookhook.DeliveryHeader))
		}
		// Backoff(1) and Backoff(2) wait at least 1.5 s and 3 s: the status writes that
		// wake the Promotion between attempts must not shorten them.
		if i > 0 && cl.at.Sub(calls[i-1].at) < time.Duration(i)*1500*time.Millisecond {
			t.Errorf("attempt %d came %s after the one before", i+1, cl.at.Sub(calls[i-1].at))
		}
	}
	stop()
}

// startController runs the controller as `ferry controller` does; the returned func
// stops it and waits until it has stopped.
func startController(t *testing.T, rc *rest.Config) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true})
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			must(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

// answer leaves the outside system's answer on the Promotion, as a receiver does.
func answer(t *testing.T, c client.Client, promotion, value string) {
	t.Helper()
	p := &ferryv1.Promotion{}
	must(t, c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: promotion}, p))
	patch := client.MergeFrom(p.DeepCopy())
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[webhookhook.AnnotationKey("gate")] = value
	must(t, c.Patch(context.Background(), p, patch))
}

// waitDeployed waits until the Deployment web runs the image.
func waitDeployed(t *testing.T, cs kubernetes.Interface, ns, image string) {
	t.Helper()
	eventually(t, func() error {
		d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
			return fmt.Errorf("deployment runs %s, want %s", got, image)
		}
		return nil
	})
}

// hookOf is the status of a Promotion's hook (zero when it has not begun).
func hookOf(p *ferryv1.Promotion, step, name string) ferryv1.HookStatus {
	for _, h := range p.Status.Hooks {
		if h.Step == step && h.Name == name {
			return h
		}
	}
	return ferryv1.HookStatus{}
}
