//go:build integration

package promotion_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeapply"
	"ferry.dev/ferry/internal/kubebin"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

const abFile = `build: {buildType: go, artifact: shop}
deploy:
  namespace: shop-ab
  releaseType:
    deployTimeout: 120
    strategy: abTest
    abTest: {header: X-Beta, cookie: beta, value: "yes"}
  helm:
    values:
      scaling: {enabled: false, min: 3}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// TestABTestRoutesMarkedRequests runs an A/B test through the HTTPRoute of the Cluster's
// Gateway, with the Gateway API's CRDs (those the dev cluster's Traefik implements) on
// a real API server. 1.0.0 is a plain rollout with a route to the Service. 1.1.0 starts
// two pods beside the three stable ones, and the route sends requests with the header
// or cookie to them and the rest to the stable pods; a person resumes the test, the
// route sends everything to 1.1.0, the stable Deployment takes it, and the route is the
// plain one again, with the A/B test's Deployment and Services gone. Traffic through
// the route is the end-to-end test's part (test/e2e/abtest_test.go).
func TestABTestRoutesMarkedRequests(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	rc := env.Config
	if _, err := install.CRDs(context.Background(), rc, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	installGatewayAPI(t, env)
	ctx, c, cs := runEngine(t, rc)
	cl := &ferryv1.Cluster{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "local"}, cl))
	cl.Spec.Gateway = &ferryv1.GatewayRef{Namespace: "gateways", Name: "web"}
	must(t, c.Update(ctx, cl))
	go testenv.ReportEveryRollout(ctx, cs, "shop-ab")
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: abFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	dyn := dynamic.NewForConfigOrDie(rc)
	route := func() string {
		t.Helper()
		u, err := dyn.Resource(httpRoutes).Namespace("shop-ab").Get(ctx, "shop", metav1.GetOptions{})
		must(t, err)
		b, _ := json.Marshal(u.Object["spec"].(map[string]any)["rules"])
		return string(b)
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		must(t, c.Create(ctx, shopRelease(v)))
		if v == "1.0.0" {
			waitPromotion(t, c, "shop-1-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
			if got := route(); got != `[{"backendRefs":[{"group":"","kind":"Service","name":"shop","port":80,"weight":1}],"matches":[{"path":{"type":"PathPrefix","value":"/"}}]}]` {
				t.Errorf("route after a plain rollout: %s", got)
			}
		}
	}
	p := waitPromotion(t, c, "shop-1-1-0-dev", func(p *ferryv1.Promotion) bool {
		return strings.Contains(checkpointMessage(p, ferryv1.StepDeploy), "step 2 of 3 (pause until resumed)")
	})
	if s := p.Status.Canary; s.Route != "shop" || s.Match != `header X-Beta or cookie beta with "yes"` || !s.Routed || s.CanaryReplicas != 2 || s.StableReplicasNow != 3 {
		t.Errorf("A/B status: %+v", s)
	}
	want := `[{"backendRefs":[{"group":"","kind":"Service","name":"shop-canary","port":80,"weight":1}],"matches":[` +
		`{"headers":[{"name":"X-Beta","type":"Exact","value":"yes"}],"path":{"type":"PathPrefix","value":"/"}},` +
		`{"headers":[{"name":"Cookie","type":"RegularExpression","value":"(^|;\\s*)beta=yes(;|$)"}],"path":{"type":"PathPrefix","value":"/"}}]},` +
		`{"backendRefs":[{"group":"","kind":"Service","name":"shop-stable","port":80,"weight":100},{"group":"","kind":"Service","name":"shop-canary","port":80,"weight":0}],` +
		`"matches":[{"path":{"type":"PathPrefix","value":"/"}}]}]`
	if got := route(); got != want {
		t.Errorf("route during the A/B test:\n got %s\nwant %s", got, want)
	}
	for name, sel := range map[string]string{"shop-stable": "app.kubernetes.io/version=1.0.0", "shop-canary": "ferry.dev/track=canary"} {
		svc, err := cs.CoreV1().Services("shop-ab").Get(ctx, name, metav1.GetOptions{})
		must(t, err)
		kv := strings.SplitN(sel, "=", 2)
		if svc.Spec.Selector[kv[0]] != kv[1] || svc.Spec.Selector["app.kubernetes.io/name"] != "shop" {
			t.Errorf("service %s selects %v", name, svc.Spec.Selector)
		}
	}

	env.Grant(t, "ferry-resumer", []rbacv1.PolicyRule{{APIGroups: []string{"ferry.dev"}, Resources: []string{"promotions"}, Verbs: []string{"get", "list", "patch"}}}, "leads")
	ann, err := kubeclient.Ferry(env.User(t, "ann", "leads"))
	must(t, err)
	_, err = approval.Resume(ctx, ann, approval.Identity{User: "ann"}, approval.Request{Namespace: "default", Application: "shop", Stage: "dev", Reason: "the beta users are happy"})
	must(t, err)
	p = waitPromotion(t, c, "shop-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
	if s := p.Status.Canary; s.Phase != ferryv1.CanaryPromoting || s.Weight != 100 {
		t.Errorf("A/B status after the promotion: %+v", s)
	}
	if got := route(); got != `[{"backendRefs":[{"group":"","kind":"Service","name":"shop","port":80,"weight":1}],"matches":[{"path":{"type":"PathPrefix","value":"/"}}]}]` {
		t.Errorf("route after the promotion: %s", got)
	}
	for _, name := range []string{"shop-canary", "shop-stable"} {
		if _, err := cs.CoreV1().Services("shop-ab").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("service %s is still there: %v", name, err)
		}
	}
	if _, err := cs.AppsV1().Deployments("shop-ab").Get(ctx, "shop-canary", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the A/B deployment is still there: %v", err)
	}
}

// TestABTestWithoutAGatewayFails: an A/B test needs a route; without a Gateway on the
// Cluster the step fails and says what to set, and nothing of the new version starts.
func TestABTestWithoutAGatewayFails(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, env.Config)
	go testenv.ReportEveryRollout(ctx, cs, "shop-ab")
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: abFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	for _, v := range []string{"1.0.0", "1.1.0"} {
		must(t, c.Create(ctx, shopRelease(v)))
		if v == "1.0.0" {
			waitPromotion(t, c, "shop-1-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionSucceeded })
		}
	}
	p := waitPromotion(t, c, "shop-1-1-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	if !strings.Contains(p.Status.Message, "an A/B test routes marked requests through a Gateway's HTTPRoute, and local has none: name the Gateway in the Cluster's spec.gateway") {
		t.Errorf("message: %s", p.Status.Message)
	}
	if _, err := cs.AppsV1().Deployments("shop-ab").Get(ctx, "shop-canary", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an A/B deployment was made: %v", err)
	}
}

// shopRelease is a Release of the A/B test's application.
func shopRelease(version string) *ferryv1.Release {
	rel := newRelease(version, digest)
	rel.Name = strings.Replace(rel.Name, "web-", "shop-", 1)
	rel.Labels["ferry.dev/application"] = "shop"
	rel.Spec.Application, rel.Spec.AppFile = "shop", abFile
	rel.Spec.Images[0].Repository = "registry.example.com/shop"
	return rel
}

// installGatewayAPI applies the Gateway API CRDs that `ferry dev build` keeps beside
// the traefik binary, and waits until the API server serves HTTPRoutes.
func installGatewayAPI(t *testing.T, env *testenv.Env) {
	t.Helper()
	crds, err := os.ReadFile(kubebin.Cache{Dir: kubebin.DefaultDir()}.GatewayCRDs())
	if err != nil {
		t.Fatalf("the Gateway API CRDs come from the cache that `ferry dev build` fills: %v", err)
	}
	ap, err := kubeapply.New(env.Config, "test")
	must(t, err)
	must(t, ap.ApplyManifest(context.Background(), crds))
	probe := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute"}}
	eventually(t, func() error {
		ap, err := kubeapply.New(env.Config, "test")
		if err != nil {
			return err
		}
		if ok, err := ap.Serves(probe); !ok {
			return errors.Join(errors.New("HTTPRoutes not served yet"), err)
		}
		return nil
	})
}
