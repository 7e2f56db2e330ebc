//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/devcluster"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

// abApp is an A/B test: requests with the header X-Beta: yes or the cookie beta=yes go
// to the new version for a 40 s pause, the others stay on the stable one.
const abApp = `profiles: [go-service]
build: {buildType: go, artifact: hello}
deploy:
  namespace: e2e-ab-hello
  releaseType:
    deployTimeout: 120
    strategy: abTest
    abTest:
      header: X-Beta
      cookie: beta
      value: "yes"
      steps: [{pause: {duration: 40s}}]
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [dev-local]}]}
`

// weightedApp is a canary whose traffic the Gateway's route splits: 20% for 40 s.
const weightedApp = `profiles: [go-service]
build: {buildType: go, artifact: hello}
deploy:
  namespace: e2e-weighted-hello
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary: {steps: [{setWeight: 20}, {pause: {duration: 40s}}]}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [dev-local]}]}
`

// testGateway sends real requests through the dev cluster's Gateway (Traefik, which
// implements the Gateway API) while Ferry changes the routes. An A/B test sends the
// marked requests, and only those, to the new version; a canary's route weight gives
// it about its share of the others; neither loses a request.
func (e *clusterEnv) testGateway(t *testing.T) {
	e.buildImage(t, "./examples/hello/smoke", "hello-smoke:1", "") // as the engine test does: this one may run alone
	e.buildImage(t, "./examples/hello", "hello:4.0.0", "-X main.version=4.0.0")
	e.buildImage(t, "./examples/hello", "hello:4.1.0", "-X main.version=4.1.0")
	e.buildImage(t, "./examples/hello", "hello:4.2.0", "-X main.version=4.2.0")
	url := "http://" + e.cfg.GatewayAddr + "/info"

	t.Run("an A/B route sends only marked requests to the new version", func(t *testing.T) {
		const ns = "e2e-ab"
		ctx := e.runController(t, ns, "127.0.0.1:19448")
		c := e.gatewayApp(t, ctx, ns, abApp)
		host := "hello.e2e-ab-hello.dev.test"
		e.firstRelease(t, c, ns, url, host)

		plain := startRequests(url, 20, 3*time.Minute, withHost(host, nil))
		defer plain.stop()
		byHeader := startRequests(url, 10, 3*time.Minute, withHost(host, func(r *http.Request) { r.Header.Set("X-Beta", "yes") }))
		defer byHeader.stop()
		byCookie := startRequests(url, 10, 3*time.Minute, withHost(host, func(r *http.Request) { r.Header.Set("Cookie", "session=1; beta=yes") }))
		defer byCookie.stop()
		otherValue := startRequests(url, 10, 3*time.Minute, withHost(host, func(r *http.Request) { r.Header.Set("X-Beta", "no") }))
		defer otherValue.stop()

		rel := e.release(t, c, ns, "4.1.0")
		routed := e.waitCanary(t, c, ns, rel.Name+"-dev", func(cs *ferryv1.CanaryStatus) bool { return cs.Routed && cs.Step >= 1 })
		// A second for Traefik to take the route (it reloads 100 ms after a change),
		// then 20 s of the pause's 40.
		from := time.Now().Add(time.Second)
		time.Sleep(21 * time.Second)
		to := time.Now()
		p := e.waitPhase(t, c, ns, rel.Name+"-dev", ferryv1.PromotionSucceeded, 3*time.Minute)
		time.Sleep(3 * time.Second)
		for _, l := range []*load{plain, byHeader, byCookie, otherValue} {
			l.stop()
		}
		for name, w := range map[string]struct {
			l    *load
			want string
		}{"unmarked": {plain, "4.0.0"}, "X-Beta: yes": {byHeader, "4.1.0"}, "cookie beta=yes": {byCookie, "4.1.0"}, "X-Beta: no": {otherValue, "4.0.0"}} {
			got := w.l.countsBetween(from, to)
			if got[w.want] < 100 || len(got) != 1 {
				t.Errorf("%s requests during the A/B test: %v (want only %s)", name, got, w.want)
			}
			t.Logf("%s: during the test %v; whole run %s", name, got, w.l.summary())
			if n := w.l.failures(); n != 0 {
				t.Errorf("%s: %d requests failed through the A/B test and its promotion: %s", name, n, w.l.summary())
			}
		}
		if plain.lastAnsweredBy("4.1.0").IsZero() || plain.lastAnsweredBy("4.0.0").After(plain.lastAnsweredBy("4.1.0")) {
			t.Errorf("after the promotion the unmarked requests should reach 4.1.0: %s", plain.summary())
		}
		t.Logf("A/B: %s; route set at step %d: %s", checkpointMessage(p, ferryv1.StepDeploy), routed.Step, routed.Message)
		e.answers(t, "e2e-ab-hello", "4.1.0")
	})

	t.Run("a canary's route weight splits the requests", func(t *testing.T) {
		const ns = "e2e-weighted"
		ctx := e.runController(t, ns, "127.0.0.1:19449")
		c := e.gatewayApp(t, ctx, ns, weightedApp)
		host := "hello.e2e-weighted-hello.dev.test"
		e.firstRelease(t, c, ns, url, host)
		ld := startRequests(url, 40, 3*time.Minute, withHost(host, nil))
		defer ld.stop()
		rel := e.release(t, c, ns, "4.1.0")
		e.waitCanary(t, c, ns, rel.Name+"-dev", func(cs *ferryv1.CanaryStatus) bool { return cs.Routed && cs.Weight == 20 })
		from := time.Now().Add(time.Second)
		time.Sleep(26 * time.Second)
		to := time.Now()
		e.waitPhase(t, c, ns, rel.Name+"-dev", ferryv1.PromotionSucceeded, 3*time.Minute)
		time.Sleep(3 * time.Second)
		ld.stop()
		got := ld.countsBetween(from, to)
		total := got["4.0.0"] + got["4.1.0"]
		share := float64(got["4.1.0"]) / float64(max(total, 1))
		t.Logf("at setWeight 20: %v (%.1f%% on 4.1.0); whole run %s", got, 100*share, ld.summary())
		// 1,000 requests at 20%: a share outside 15-25% is 5.6 standard deviations off.
		if total < 500 || share < 0.15 || share > 0.25 || got[""] != 0 {
			t.Errorf("at setWeight 20: %v (%.1f%% on 4.1.0)", got, 100*share)
		}
		if n := ld.failures(); n != 0 {
			t.Errorf("%d requests failed through the canary and its promotion: %s", n, ld.summary())
		}
		e.answers(t, "e2e-weighted-hello", "4.1.0")
	})
}

// gatewayApp makes the app whose dev-local Cluster routes through the dev Gateway and
// names ARTIFACT.NAMESPACE.dev.test as its hosts.
func (e *clusterEnv) gatewayApp(t *testing.T, ctx context.Context, ns, appFile string) client.Client {
	t.Helper()
	c, err := kubeclient.Ferry(e.rc)
	must(t, err)
	e.createApp(t, c, ns, appFile)
	cl := &ferryv1.Cluster{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dev-local"}, cl))
	cl.Spec.Hosts = []string{"dev.test"}
	cl.Spec.Gateway = &ferryv1.GatewayRef{Namespace: devcluster.GatewayNamespace, Name: devcluster.GatewayName}
	must(t, c.Update(ctx, cl))
	return c
}

// firstRelease deploys 4.0.0 (a plain rollout) and waits until the Gateway answers
// with it at the host.
func (e *clusterEnv) firstRelease(t *testing.T, c client.Client, ns, url, host string) {
	t.Helper()
	v1 := e.release(t, c, ns, "4.0.0")
	e.waitPhase(t, c, ns, v1.Name+"-dev", ferryv1.PromotionSucceeded, 3*time.Minute)
	hc := &http.Client{Timeout: 2 * time.Second}
	e2ekit.Eventually(t, 30*time.Second, "the Gateway answers for "+host, func() error {
		if v, why := get(context.Background(), hc, url, withHost(host, nil)); v != "4.0.0" {
			return fmt.Errorf("answered %q %s", v, why)
		}
		return nil
	})
}

// withHost sets the request's Host, then applies mark when there is one.
func withHost(host string, mark func(*http.Request)) func(*http.Request) {
	return func(r *http.Request) {
		r.Host = host
		if mark != nil {
			mark(r)
		}
	}
}

// waitCanary waits until the Promotion's canary status satisfies ok and returns it.
func (e *clusterEnv) waitCanary(t *testing.T, c client.Client, ns, name string, ok func(*ferryv1.CanaryStatus) bool) *ferryv1.CanaryStatus {
	t.Helper()
	var cs *ferryv1.CanaryStatus
	e2ekit.Eventually(t, 2*time.Minute, "the canary status of "+name, func() error {
		p := &ferryv1.Promotion{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
			return err
		}
		if p.Status.Phase == ferryv1.PromotionFailed {
			t.Fatalf("promotion %s failed: %s", name, p.Status.Message)
		}
		if p.Status.Canary == nil || !ok(p.Status.Canary) {
			return fmt.Errorf("canary %+v; %s", p.Status.Canary, strings.TrimSpace(p.Status.Message))
		}
		cs = p.Status.Canary
		return nil
	})
	return cs
}
