//go:build integration

package admission_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

const appFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web
  stages:
    - {name: dev, target: [{cluster_id: [local]}]}
    - {name: prod, target: [{cluster_id: [local]}]}
`

// TestAPIServerRefuses checks what a user sees when they create a Promotion for an
// unknown stage, a Release of an unknown Application or with an app file that does not
// load, or a malformed Release: the API server refuses each, naming the field and why.
func TestAPIServerRefuses(t *testing.T) {
	rc := testenv.Start(t, "../../config/crd")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true, WebhookAddr: addr})
	}()
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		t.Fatal(err)
	}
	app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Clusters: []string{"local"}}, {Name: "prod", Clusters: []string{"local"}}}}}
	if err := c.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	release := func(name, app, version, file string) *ferryv1.Release {
		return &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: ferryv1.ReleaseSpec{Application: app, Version: version, Flow: "release", AppFile: file,
				Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/web", Digest: "sha256:" + strings.Repeat("a", 64)}}}}
	}
	cases := []struct {
		name string
		obj  func() error
		want string
	}{
		{"unknown stage", func() error {
			return c.Create(ctx, &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "web-1-0-0-qa", Namespace: "default"},
				Spec: ferryv1.PromotionSpec{Application: "web", Release: "web-1-0-0", Stage: "qa"}})
		}, `admission webhook "promotions.ferry.dev" denied the request: Promotion web-1-0-0-qa: spec.stage: application web has no stage "qa" (its stages: dev, prod)`},
		{"unknown application", func() error { return c.Create(ctx, release("api-1-0-0", "api", "1.0.0", appFile)) },
			`admission webhook "releases.ferry.dev" denied the request: Release api-1-0-0: spec.application: application "api" does not exist in namespace default`},
		{"app file that does not load", func() error {
			return c.Create(ctx, release("web-1-0-1", "web", "1.0.1", strings.Replace(appFile, "buildType: go", "buildType: rust", 1)))
		}, `admission webhook "releases.ferry.dev" denied the request: Release web-1-0-1: spec.appFile does not load: `},
		{"malformed version", func() error { return c.Create(ctx, release("web-x", "web", "one", appFile)) },
			`spec.version: Invalid value: "one": spec.version in body should match`},
	}
	// The webhook starts with the controller: wait until it answers.
	deadline := time.Now().Add(30 * time.Second)
	for err := cases[0].obj(); err == nil || !strings.Contains(err.Error(), "denied the request"); err = cases[0].obj() {
		if time.Now().After(deadline) {
			t.Fatalf("the webhook did not answer: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, tc := range cases {
		err := tc.obj()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v\nwant it to contain %q", tc.name, err, tc.want)
		}
	}
	// A good Release is stored, and the controller's Promotion for dev passes too.
	if err := c.Create(ctx, release("web-1-0-0", "web", "1.0.0", appFile)); err != nil {
		t.Fatal(err)
	}
	for p := (&ferryv1.Promotion{}); ; time.Sleep(200 * time.Millisecond) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web-1-0-0-dev"}, p); err == nil {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatal("the controller's promotion for dev was not created")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}
