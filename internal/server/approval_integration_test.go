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
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/api"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/server"
	"ferry.dev/ferry/internal/testenv"
)

const proxySecret = "proxy-s3cret"

// approvalEnv is a real API server with Ferry installed (CRDs, the admission policy,
// the ferry-server identity), and `ferry server` running as ferry-server with an
// authenticating proxy configured.
type approvalEnv struct {
	env   *testenv.Env
	admin client.Client
	url   string
}

// startApprovalEnv also stores shop in team: its prod stage needs leads and sre, a
// Promotion waits there; dev needs leads and has nothing waiting. leads may approve
// (ApproverRules), sre and interns may only read, except that interns may create
// decisions too.
func startApprovalEnv(t *testing.T) *approvalEnv {
	t.Helper()
	env := testenv.StartEnv(t)
	ctx := context.Background()
	_, err := install.CRDs(ctx, env.Config, 30*time.Second)
	must(t, err)
	_, err = install.Server(ctx, env.Config, install.DefaultNamespace)
	must(t, err)
	admin, err := kubeclient.Ferry(env.Config)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{})
	must(t, err)
	env.Grant(t, "ferry-approver", testenv.ApproverRules, "leads", "interns")
	env.Grant(t, "ferry-reader", []rbacv1.PolicyRule{{APIGroups: []string{"ferry.dev"}, Resources: []string{"applications", "promotions"},
		Verbs: []string{"get", "list"}}}, "sre")
	must(t, admin.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Clusters: []string{"local"}, ApproverGroups: []string{"leads"}},
			{Name: "prod", Clusters: []string{"local"}, ApproverGroups: []string{"leads", "sre"}, Quorum: 2},
		}}}))
	p := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "shop-1-0-0-prod", Namespace: "team",
		Labels: map[string]string{ferryv1.LabelApplication: "shop", ferryv1.LabelStage: "prod"}},
		Spec: ferryv1.PromotionSpec{Application: "shop", Release: "shop-1-0-0", Stage: "prod"}}
	must(t, admin.Create(ctx, p))
	p.Status.Phase = ferryv1.PromotionWaitingApproval
	must(t, admin.Status().Update(ctx, p))

	self := asServiceAccount(t, env, cs, install.DefaultNamespace, install.ServerAccount)
	c, err := kubeclient.Ferry(self)
	must(t, err)
	srv := httptest.NewServer(startServer(t, &server.Server{Client: c, Local: self, AuthProxy: &api.ProxyAuth{
		UserHeader: "X-Forwarded-User", GroupsHeader: "X-Forwarded-Groups", Secret: []byte(proxySecret)}}).Handler())
	t.Cleanup(srv.Close)
	waitApprovalPolicy(t, env)
	return &approvalEnv{env: env, admin: admin, url: srv.URL + "/api/v1/namespaces/team/applications/shop/stages/"}
}

// asServiceAccount is a config of the ServiceAccount (made here if missing) with a
// token of it, as a pod running as it would have.
func asServiceAccount(t *testing.T, env *testenv.Env, cs kubernetes.Interface, ns, name string) *rest.Config {
	t.Helper()
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	must(t, err)
	return &rest.Config{Host: env.Config.Host, TLSClientConfig: rest.TLSClientConfig{CAData: env.Config.CAData}, BearerToken: tr.Status.Token}
}

// waitApprovalPolicy waits until the API server enforces the approval admission
// policy: a forged decision sent as a dry run is refused.
func waitApprovalPolicy(t *testing.T, env *testenv.Env) {
	t.Helper()
	c, err := kubeclient.Ferry(env.User(t, "mallory", "interns"))
	must(t, err)
	forged := &ferryv1.ApprovalDecision{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "team"},
		Spec: ferryv1.ApprovalDecisionSpec{Promotion: "p", User: "someone-else", Group: "interns", Decision: ferryv1.DecisionApprove}}
	testenv.Eventually(t, 20*time.Second, func() error {
		err := c.Create(context.Background(), forged.DeepCopy(), client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), "spec.user is someone-else") {
			return fmt.Errorf("a forged decision is not refused yet: %w", err)
		}
		return nil
	})
}

// as sends a request through the authenticating proxy as user in groups.
func (e *approvalEnv) as(t *testing.T, method, path, user string, groups []string, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	must(t, err)
	req.Header.Set("X-Forwarded-User", user)
	req.Header.Set("X-Forwarded-Groups", strings.Join(groups, ","))
	req.Header.Set(api.ProxySecretHeader, proxySecret)
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

// reply is an answer's status and body.
type reply struct {
	status int
	body   string
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return reply{resp.StatusCode, string(b)}
}

// decode is a 200's JSON.
func decode[T any](t *testing.T, what string, r reply) T {
	t.Helper()
	var v T
	if r.status != http.StatusOK {
		t.Fatalf("%s: %d %s", what, r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("%s: %v in %s", what, err, r.body)
	}
	return v
}

// refused checks a refusal's status and its JSON message.
func refused(t *testing.T, what string, r reply, status int, msg string) {
	t.Helper()
	wantError(t, what, r.status, r.body, status, msg)
}

// TestApprovalsThroughTheAPI: people named by the authenticating proxy decide through
// the API, the server (as ferry-server, with the rights `ferry install` gives it alone)
// acting as each of them: an approver approves once, in their own name and group; a
// person outside the approver groups, an approver without the right to create
// decisions, headers without the proxy's secret and a body not sent as JSON (a
// cross-site form) are refused, and nothing is recorded for them. The approval route tells each who may decide.
func TestApprovalsThroughTheAPI(t *testing.T) {
	e := startApprovalEnv(t)
	ann := []string{"leads"}

	st := decode[api.ApprovalState](t, "ann's view", e.as(t, "GET", "prod/approval", "ann", ann, ""))
	if st.Promotion != "shop-1-0-0-prod" || !st.Waiting || st.Quorum != 2 || strings.Join(st.Groups, ",") != "leads,sre" ||
		len(st.Approvals) != 0 || !st.MayApprove || st.Why != "ann may approve or reject as leads" {
		t.Errorf("ann's view: %+v", st)
	}
	d := decode[api.Decision](t, "ann approves", e.as(t, "POST", "prod/approve", "ann", ann, `{"reason": "looks good"}`))
	if d.User != "ann" || d.Group != "leads" || d.Promotion != "shop-1-0-0-prod" || d.Stage != "prod" || d.Decision != ferryv1.DecisionApprove {
		t.Errorf("ann's decision: %+v", d)
	}
	stored := &ferryv1.ApprovalDecision{}
	must(t, e.admin.Get(context.Background(), client.ObjectKey{Namespace: "team", Name: d.Name}, stored))
	if stored.Spec.User != "ann" || stored.Spec.Group != "leads" || stored.Spec.Reason != "looks good" {
		t.Errorf("stored: %+v", stored.Spec)
	}
	refused(t, "ann twice", e.as(t, "POST", "prod/approve", "ann", ann, ""), http.StatusConflict, "ann has already decided on shop-1-0-0-prod")
	st = decode[api.ApprovalState](t, "ann's view after", e.as(t, "GET", "prod/approval", "ann", ann, ""))
	if st.MayApprove || st.Why != "ann has already decided on shop-1-0-0-prod" {
		t.Errorf("ann's view after: %+v", st)
	}

	eve := []string{"interns"}
	st = decode[api.ApprovalState](t, "eve's view", e.as(t, "GET", "prod/approval", "eve", eve, ""))
	if st.MayApprove || st.Why != "eve is not in an approver group of stage prod ([leads sre])" {
		t.Errorf("eve's view: %+v", st)
	}
	refused(t, "eve", e.as(t, "POST", "prod/approve", "eve", eve, ""), http.StatusForbidden, "eve is not in an approver group of stage prod")
	refused(t, "eve as sre", e.as(t, "POST", "prod/approve", "eve", eve, `{"group": "sre"}`), http.StatusForbidden, "eve is not in group sre")

	dan := []string{"sre"} // an approver group, but no right to create decisions
	st = decode[api.ApprovalState](t, "dan's view", e.as(t, "GET", "prod/approval", "dan", dan, ""))
	if st.MayApprove || !strings.Contains(st.Why, `User "dan" cannot create resource "approvaldecisions" in API group "ferry.dev" in the namespace "team"`) {
		t.Errorf("dan's view: %+v", st)
	}
	refused(t, "dan", e.as(t, "POST", "prod/approve", "dan", dan, ""), http.StatusForbidden, `User "dan" cannot create resource "approvaldecisions"`)

	refused(t, "a rejection without a reason", e.as(t, "POST", "prod/reject", "cat", ann, ""), http.StatusBadRequest, "a rejection needs a reason")
	d = decode[api.Decision](t, "cat rejects", e.as(t, "POST", "prod/reject", "cat", ann, `{"reason": "the canary failed in stage"}`))
	if d.User != "cat" || d.Decision != ferryv1.DecisionReject || d.Reason != "the canary failed in stage" {
		t.Errorf("cat's decision: %+v", d)
	}
	refused(t, "nothing waits in dev", e.as(t, "POST", "dev/approve", "ann", ann, ""), http.StatusConflict, "no promotion of shop waits for approval in dev")
	refused(t, "no stage qa", e.as(t, "POST", "qa/approve", "ann", ann, ""), http.StatusNotFound, `application shop has no stage "qa"`)

	// Headers without the proxy's secret are anyone's: refused.
	req, err := http.NewRequest(http.MethodPost, e.url+"prod/approve", strings.NewReader(`{}`))
	must(t, err)
	req.Header.Set("X-Forwarded-User", "bob")
	req.Header.Set("X-Forwarded-Groups", "sre,leads")
	refused(t, "forged headers", do(t, req), http.StatusUnauthorized, "no bearer token")
	req.Header.Set(api.ProxySecretHeader, "guess")
	req.Body = io.NopCloser(strings.NewReader(`{}`))
	refused(t, "a wrong proxy secret", do(t, req), http.StatusUnauthorized, "secret is wrong")
	// A form another site makes a signed-in person's browser post, through the proxy.
	req.Header.Set(api.ProxySecretHeader, proxySecret)
	req.Header.Set("Content-Type", "text/plain")
	req.Body = io.NopCloser(strings.NewReader(`{"reason": "a form elsewhere"}`))
	refused(t, "a cross-site form", do(t, req), http.StatusBadRequest, "Content-Type: application/json")

	list := &ferryv1.ApprovalDecisionList{}
	must(t, e.admin.List(context.Background(), list, client.InNamespace("team")))
	var who []string
	for _, d := range list.Items {
		who = append(who, d.Spec.User+":"+string(d.Spec.Decision))
	}
	if strings.Join(who, " ") != "ann:Approve cat:Reject" && strings.Join(who, " ") != "cat:Reject ann:Approve" {
		t.Errorf("recorded %v, want ann's approval and cat's rejection alone", who)
	}
}
