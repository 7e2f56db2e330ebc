//go:build e2e

package e2e

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/devcluster"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/server"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

const watchNS = "e2e-watch"

const watchApp = `profiles: [go-service]
build: {buildType: go, artifact: hello}
deploy:
  namespace: e2e-watch
  releaseType: {deployTimeout: 120}
  helm:
    values:
      scaling: {enabled: false, min: 1}
  stages:
    - {name: dev, namespace: e2e-watch-dev, flows: [release], target: [{cluster_id: [dev-local]}]}
`

// testImageWatch: the dev cluster's registry notifies `ferry server` of each push
// (devcluster.RegistryNotifyURL); an ImageWatch of hello with the range ~1.2 and a
// ten-minute interval turns the push of hello:1.2.0 into a Release within 2 s, and dev
// deploys it; 1.3.0 is ignored; 1.2.1 is taken and deployed.
func (e *clusterEnv) testImageWatch(t *testing.T) {
	e.runController(t, watchNS, "127.0.0.1:19450")
	c, err := kubeclient.Ferry(e.rc)
	must(t, err)
	e.serveWebhooks(t, c)
	e.createApp(t, c, watchNS, watchApp)
	repo := e.cfg.RegistryAddr + "/e2e/watched-hello"
	must(t, c.Create(context.Background(), &ferryv1.ImageWatch{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: watchNS},
		Spec: ferryv1.ImageWatchSpec{Repository: repo, Semver: "~1.2", Interval: &metav1.Duration{Duration: 10 * time.Minute},
			Application: "hello", AutoRelease: true}}))
	push := func(version string) time.Time {
		e.buildImage(t, "./examples/hello", "e2e/watched-hello:"+version, "-X main.version="+version)
		return time.Now()
	}
	for _, v := range []string{"1.2.0", "1.2.1"} {
		pushed := push(v)
		name := "hello-" + map[string]string{"1.2.0": "1-2-0", "1.2.1": "1-2-1"}[v]
		e2ekit.Eventually(t, 10*time.Second, "the release of "+v, func() error {
			return c.Get(context.Background(), client.ObjectKey{Namespace: watchNS, Name: name}, &ferryv1.Release{})
		})
		took := time.Since(pushed)
		t.Logf("hello:%s pushed -> Release within %s", v, took.Round(time.Millisecond))
		if took > 2*time.Second {
			t.Errorf("hello:%s became a Release %s after its push; want within 2 s", v, took)
		}
		e.waitPhase(t, c, watchNS, name+"-dev", ferryv1.PromotionSucceeded, 3*time.Minute)
		e.answers(t, "e2e-watch-dev", v)
		if v == "1.2.0" {
			push("1.3.0") // outside ~1.2
			time.Sleep(3 * time.Second)
		}
	}
	list := &ferryv1.ReleaseList{}
	must(t, c.List(context.Background(), list, client.InNamespace(watchNS)))
	if len(list.Items) != 2 {
		var names []string
		for _, r := range list.Items {
			names = append(names, r.Name)
		}
		t.Errorf("releases %v; want hello-1-2-0 and hello-1-2-1 (1.3.0 is outside ~1.2)", names)
	}
}

// serveWebhooks runs `ferry server`'s handler where the dev registry sends its
// notifications, until the test ends.
func (e *clusterEnv) serveWebhooks(t *testing.T, c client.Client) {
	t.Helper()
	l, err := net.Listen("tcp", devcluster.RegistryNotifyAddr)
	must(t, err)
	hs := &http.Server{Handler: (&server.Server{Client: c, Local: e.rc, Log: log.New(e2ekit.LogWriter{T: t}, "server: ", 0)}).Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("server: %v", err)
		}
	}()
	t.Cleanup(func() { _ = hs.Close() })
}
