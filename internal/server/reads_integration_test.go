//go:build integration

package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/api"
	"ferry.dev/ferry/internal/hooklog"
	"ferry.dev/ferry/internal/server"
	"ferry.dev/ferry/internal/testenv"
)

// TestDashboardReads: through the server's cache, a ServiceAccount reads the board
// searched by name, an application's history, a Promotion with its Events and (once it
// may get change records) its change record, a hook's kept log, and the workloads with
// their namespaces, digests and deploy times.
func TestDashboardReads(t *testing.T) {
	env, c, cs := startHistory(t, "team")
	ctx := context.Background()
	prom := keepHookLog(t, c, cs)
	_, err := cs.CoreV1().Events("team").Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{GenerateName: "shop-a-prod-"},
		InvolvedObject: corev1.ObjectReference{Kind: "Promotion", APIVersion: ferryv1.GroupVersion.String(), Namespace: "team", Name: prom.Name, UID: prom.UID},
		Type:           corev1.EventTypeNormal, Reason: "PromotionSucceeded", Message: "shop-a verified in prod",
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Source: corev1.EventSource{Component: "ferry"}}, metav1.CreateOptions{})
	must(t, err)
	rec := &ferryv1.ChangeRecord{ObjectMeta: metav1.ObjectMeta{Name: prom.Name, Namespace: "team"},
		Spec: ferryv1.ChangeRecordSpec{Application: "shop", Stage: "prod", Release: "shop-a", Version: "1.0.0", Promotion: prom.Name, OpenedAt: metav1.Now()}}
	must(t, c.Create(ctx, rec))
	rec.Status.Result = ferryv1.ChangeSucceeded
	must(t, c.Status().Update(ctx, rec))
	token := serviceAccountToken(t, cs, "team", "reader", true)
	srv := httptest.NewServer(startServer(t, &server.Server{Client: c, Local: env.Config}).Handler())
	defer srv.Close()

	var list api.ApplicationList
	getJSON(t, srv.URL+"/api/v1/namespaces/team/applications?q=SHO", token, &list)
	if len(list.Items) != 1 || list.Items[0].Stages[1].Phase != ferryv1.PromotionSucceeded || list.Items[0].Stages[1].StepsTotal != 8 {
		t.Errorf("board, q=SHO: %+v", list)
	}
	getJSON(t, srv.URL+"/api/v1/namespaces/team/applications?q=cart", token, &list)
	if len(list.Items) != 0 {
		t.Errorf("board, q=cart: %+v", list)
	}

	var hist api.History
	getJSON(t, srv.URL+"/api/v1/namespaces/team/applications/shop/history?q=abc", token, &hist)
	if len(hist.Items) != 1 || hist.Items[0].Name != "shop-a-prod" || hist.Items[0].Version != "1.0.0" || hist.Items[0].Commit != "abc1234" ||
		hist.Items[0].FinishedAt == nil {
		t.Errorf("history: %+v", hist)
	}

	var detail api.PromotionDetail
	getJSON(t, srv.URL+"/api/v1/namespaces/team/promotions/shop-a-prod", token, &detail)
	if detail.Application != "shop" || detail.Stage != "prod" || len(detail.Events) != 1 || detail.Events[0].Reason != "PromotionSucceeded" ||
		detail.ChangeRecord != nil {
		t.Errorf("promotion, without rights on change records: %+v", detail)
	}
	allowChangeRecords(t, cs, "team", "reader")
	testenv.Eventually(t, 15*time.Second, func() error { // the server keeps its reviews' answers for a few seconds
		getJSON(t, srv.URL+"/api/v1/namespaces/team/promotions/shop-a-prod", token, &detail)
		if detail.ChangeRecord == nil || detail.ChangeRecord.Result != ferryv1.ChangeSucceeded {
			return fmt.Errorf("change record: %+v", detail.ChangeRecord)
		}
		return nil
	})

	status, body := get(t, srv.URL+"/api/v1/namespaces/team/promotions/shop-a-prod/hooks/smoke/log", token)
	if status != http.StatusOK || body != "smoke passed\n" {
		t.Errorf("hook log: %d %q", status, body)
	}
	status, body = get(t, srv.URL+"/api/v1/namespaces/team/promotions/shop-a-prod/hooks/other/log", token)
	wantError(t, "a hook without a log", status, body, http.StatusNotFound, "no log kept")

	var wl api.WorkloadList
	getJSON(t, srv.URL+"/api/v1/namespaces/team/workloads", token, &wl)
	if len(wl.Items) != 2 || wl.Items[1].Stage != "prod" || wl.Items[1].Version != "1.0.0" || wl.Items[1].Namespace != "hello-push" ||
		len(wl.Items[1].Images) != 1 || wl.Items[1].DeployedAt == nil || wl.Items[1].Cluster != "local" {
		t.Errorf("workloads: %+v", wl)
	}
	var wh api.WorkloadHistory
	getJSON(t, srv.URL+"/api/v1/namespaces/team/workloads/shop/history", token, &wh)
	if len(wh.Stages) != 2 || len(wh.Stages[1].Versions) != 1 || wh.Stages[1].Versions[0].Release != "shop-a" {
		t.Errorf("workload history: %+v", wh)
	}
}

// keepHookLog writes a smoke hook's log as the promotion controller keeps it: a
// ConfigMap the Promotion owns, named in its status.
func keepHookLog(t *testing.T, c client.Client, cs kubernetes.Interface) *ferryv1.Promotion {
	t.Helper()
	ctx := context.Background()
	p := &ferryv1.Promotion{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "shop-a-prod"}, p))
	cm := hooklog.Kept{Promotion: p.Name, Step: ferryv1.StepPostDeploy, Hook: "smoke", Cluster: "local", Log: "smoke passed\n"}.ConfigMap("team", "shop-a-prod-smoke")
	cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: ferryv1.GroupVersion.String(), Kind: "Promotion", Name: p.Name, UID: p.UID}}
	_, err := cs.CoreV1().ConfigMaps("team").Create(ctx, cm, metav1.CreateOptions{})
	must(t, err)
	p.Status.Hooks = []ferryv1.HookStatus{{Step: ferryv1.StepPostDeploy, Name: "smoke", Kind: ferryv1.HookKindJob, Phase: ferryv1.HookSucceeded, Logs: []string{cm.Name}}}
	must(t, c.Status().Update(ctx, p))
	return p
}

// allowChangeRecords lets the ServiceAccount get ChangeRecords in its namespace.
func allowChangeRecords(t *testing.T, cs kubernetes.Interface, ns, sa string) {
	t.Helper()
	ctx := context.Background()
	_, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: sa + "-changes"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"ferry.dev"}, Resources: []string{"changerecords"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{})
	must(t, err)
	_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: sa + "-changes"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: sa + "-changes"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}}}, metav1.CreateOptions{})
	must(t, err)
}
