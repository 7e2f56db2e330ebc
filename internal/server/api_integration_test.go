//go:build integration

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/api"
	"ferry.dev/ferry/internal/dora"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/server"
	"ferry.dev/ferry/internal/testenv"
)

// TestAPIReadsAsTheTokensUser: a ServiceAccount allowed to read Ferry's objects in
// "team" reads its application, releases, promotion and DORA figures through the API
// with its token; the same token is refused in "other" (403), and a request without a
// token, with a made-up one or with the token of a deleted ServiceAccount is refused
// (401).
func TestAPIReadsAsTheTokensUser(t *testing.T) {
	env, c, cs := startHistory(t, "team", "other")
	ctx := context.Background()
	token := serviceAccountToken(t, cs, "team", "reader", true)
	srv := httptest.NewServer(startServer(t, &server.Server{Client: c, Local: env.Config}).Handler())
	defer srv.Close()

	status, body := get(t, srv.URL+"/api/v1/namespaces/team/applications", "")
	wantError(t, "no token", status, body, http.StatusUnauthorized, "no bearer token")
	status, body = get(t, srv.URL+"/api/v1/namespaces/team/applications", "made-up")
	wantError(t, "made-up token", status, body, http.StatusUnauthorized, "refused")

	var list api.ApplicationList
	getJSON(t, srv.URL+"/api/v1/namespaces/team/applications", token, &list)
	if len(list.Items) != 1 || len(list.Items[0].Stages) != 2 {
		t.Fatalf("applications: %+v", list)
	}
	if dev, prod := list.Items[0].Stages[0], list.Items[0].Stages[1]; dev.Name != "dev" || dev.Release != "shop-b" || dev.Version != "1.1.0" ||
		dev.ActivePromotion != "shop-b-dev" || prod.Name != "prod" || prod.Release != "shop-a" || prod.LastVerifiedRelease != "shop-a" ||
		prod.Promotion != "shop-a-prod" || prod.Phase != ferryv1.PromotionSucceeded || prod.StepsDone != 2 {
		t.Errorf("stages: %+v", list.Items[0].Stages)
	}
	var app api.ApplicationDetail
	getJSON(t, srv.URL+"/api/v1/namespaces/team/applications/shop", token, &app)
	if len(app.Releases) != 2 || app.Releases[0].Name != "shop-b" || app.Releases[1].Commit != "abc1234" || app.Name != "shop" {
		t.Errorf("application: %+v", app)
	}
	var prom api.PromotionDetail
	getJSON(t, srv.URL+"/api/v1/namespaces/team/promotions/shop-a-prod", token, &prom)
	if prom.Spec.Release != "shop-a" || prom.Status.Phase != ferryv1.PromotionSucceeded || len(prom.Status.Checkpoints) != 2 ||
		len(prom.Status.Approvals) != 1 || prom.Status.Approvals[0].User != "carol" {
		t.Errorf("promotion: %+v", prom)
	}
	var f struct {
		dora.Figures
		LeadTime string `json:"leadTime"`
	}
	getJSON(t, srv.URL+"/api/v1/namespaces/team/applications/shop/dora?since=48h", token, &f)
	if f.Stage != "prod" || f.Deployments != 1 || f.Succeeded != 1 || f.LeadTime != "3h0m0s" {
		t.Errorf("dora: %+v", f)
	}
	status, body = get(t, srv.URL+"/api/v1/namespaces/team/promotions/nothing", token)
	wantError(t, "a missing promotion", status, body, http.StatusNotFound, "promotion team/nothing not found")

	status, body = get(t, srv.URL+"/api/v1/namespaces/other/applications", token)
	wantError(t, "another namespace", status, body, http.StatusForbidden, `may not list applications.ferry.dev in namespace "other"`)

	gone := serviceAccountToken(t, cs, "team", "gone", false)
	must(t, cs.CoreV1().ServiceAccounts("team").Delete(ctx, "gone", metav1.DeleteOptions{}))
	// The API server learns of the deletion from its watch; a TokenReview answered
	// before that is believed for the API's 10 s review cache: 401 within both.
	testenv.Eventually(t, 25*time.Second, func() error {
		if status, body := get(t, srv.URL+"/api/v1/namespaces/team/applications", gone); status != http.StatusUnauthorized {
			return fmt.Errorf("%d %s", status, body)
		}
		return nil
	})
}

// startHistory starts a real API server with Ferry's CRDs and the namespaces, and
// writes the "team" history (writeHistory) into it.
func startHistory(t *testing.T, namespaces ...string) (*testenv.Env, client.Client, kubernetes.Interface) {
	t.Helper()
	env := testenv.StartEnv(t, "../../config/crd")
	c, err := kubeclient.Ferry(env.Config)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	for _, ns := range namespaces {
		_, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		must(t, err)
	}
	writeHistory(t, c)
	return env, c, cs
}

// writeHistory stores shop in team as the controller would have left it: two
// Releases, prod running shop-a (committed 3 h before its promotion ended) and dev
// promoting shop-b.
func writeHistory(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}},
			{Name: "prod", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}},
		}}}
	must(t, c.Create(ctx, app))
	app.Status.Stages = []ferryv1.StageStatus{
		{Name: "prod", CurrentRelease: "shop-a", CurrentVersion: "1.0.0", LastVerifiedRelease: "shop-a"},
		{Name: "dev", CurrentRelease: "shop-b", CurrentVersion: "1.1.0", ActivePromotion: "shop-b-dev"},
	}
	must(t, c.Status().Update(ctx, app))
	labels := map[string]string{ferryv1.LabelApplication: "shop"}
	// shop-b is the newer though its name sorts first: the newest-first order is by time.
	for i, r := range []struct{ name, version string }{{"shop-a", "1.0.0"}, {"shop-b", "1.1.0"}} {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // creation times are in seconds
		}
		rel := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: r.name, Namespace: "team", Labels: labels},
			Spec: ferryv1.ReleaseSpec{Application: "shop", Version: r.version, Flow: "release", AppFile: appFile,
				Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.test/shop", Digest: "sha256:" + strings.Repeat("ab", 32)}}}}
		if i == 0 {
			rel.Spec.Git = &ferryv1.GitInfo{Commit: "abc1234", CommittedAt: ptr.To(metav1.NewTime(now.Add(-4 * time.Hour)))}
		}
		must(t, c.Create(ctx, rel))
	}
	p := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "shop-a-prod", Namespace: "team",
		Labels: map[string]string{ferryv1.LabelApplication: "shop", ferryv1.LabelStage: "prod", ferryv1.LabelRelease: "shop-a"}},
		Spec: ferryv1.PromotionSpec{Application: "shop", Release: "shop-a", Stage: "prod"}}
	must(t, c.Create(ctx, p))
	at := func(d time.Duration) *metav1.Time { return ptr.To(metav1.NewTime(now.Add(d))) }
	p.Status = ferryv1.PromotionStatus{Phase: ferryv1.PromotionSucceeded,
		Checkpoints: []ferryv1.Checkpoint{
			{Name: ferryv1.StepApproval, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(-2 * time.Hour), FinishedAt: at(-90 * time.Minute)},
			{Name: ferryv1.StepDeploy, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(-90 * time.Minute), FinishedAt: at(-time.Hour)},
		},
		Approvals: []ferryv1.Approval{{User: "carol", Group: "sre", Time: *at(-90 * time.Minute)}},
	}
	must(t, c.Status().Update(ctx, p))
}

// serviceAccountToken creates a ServiceAccount, allowed (when read) to get and list
// Ferry's objects in its namespace alone, and returns a token of it.
func serviceAccountToken(t testing.TB, cs kubernetes.Interface, ns, name string, read bool) string {
	t.Helper()
	ctx := context.Background()
	_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	fatalIf(t, err)
	if read {
		_, err = cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"ferry.dev"}, Resources: []string{"applications", "promotions", "releases"}, Verbs: []string{"get", "list"}}}},
			metav1.CreateOptions{})
		fatalIf(t, err)
		_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}}, metav1.CreateOptions{})
		fatalIf(t, err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	fatalIf(t, err)
	return tr.Status.Token
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	must(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, string(b)
}

func getJSON(t *testing.T, url, token string, v any) {
	t.Helper()
	status, body := get(t, url, token)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

// wantError checks a refusal's status and its JSON message.
func wantError(t *testing.T, what string, status int, body string, wantStatus int, wantMsg string) {
	t.Helper()
	var e struct{ Error string }
	if status != wantStatus || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, wantMsg) {
		t.Errorf("%s: %d %s, want %d with %q", what, status, body, wantStatus, wantMsg)
	}
}
