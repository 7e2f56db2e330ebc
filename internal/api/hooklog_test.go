package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/hooklog"
)

// readers is a Reviewer that knows one token and lets its user read everything but
// what deny names (verb resource).
type readers struct{ deny map[string]bool }

func (readers) Authenticate(_ context.Context, token string) (User, error) {
	if token != "good" {
		return User{}, ErrUnauthenticated
	}
	return User{Name: "alice"}, nil
}

func (r readers) Authorize(_ context.Context, _ User, a Access) (bool, string, error) {
	return !r.deny[a.Verb+" "+a.Resource], "", nil
}

// call makes an authenticated GET of the API and returns the status, content type and
// body.
func call(t *testing.T, h http.Handler, path string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, Prefix+path, nil)
	req.Header.Set("Authorization", "Bearer good")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, rec.Header().Get("Content-Type"), string(b)
}

// TestHookLog: the kept log of a hook comes as text, both steps' when the hook ran in
// two and one with ?step=; a ConfigMap the Promotion does not own is never shown, and a
// hook without a kept log is a 404.
func TestHookLog(t *testing.T) {
	p := testPromotion("shop-1-prod", "shop", "prod", metav1.Now().Time, ferryv1.PromotionSucceeded)
	p.UID = types.UID("uid-1")
	p.Status.Hooks = []ferryv1.HookStatus{
		{Step: "preDeploy", Name: "migrate", Kind: "job", Logs: []string{"log-pre"}},
		{Step: "postDeploy", Name: "migrate", Kind: "job", Logs: []string{"log-post"}},
		{Step: "postDeploy", Name: "smoke", Kind: "job", Logs: []string{"kube-root-ca.crt"}},
	}
	owned := []metav1.OwnerReference{{Kind: "Promotion", Name: p.Name, UID: p.UID}}
	cm := func(name, step, hook, log string, owners []metav1.OwnerReference) *corev1.ConfigMap {
		c := hooklog.Kept{Promotion: p.Name, Step: step, Hook: hook, Cluster: "local", Log: log}.ConfigMap("team", name)
		c.OwnerReferences = owners
		return c
	}
	kube := kubefake.NewClientset(cm("log-pre", "preDeploy", "migrate", "migrated 3 tables\n", owned),
		cm("log-post", "postDeploy", "migrate", "nothing to do\n", owned),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: "team"}, Data: map[string]string{"ca.crt": "secret"}})
	h := (&API{Client: fakeCache(t, p), Kube: kube, Reviews: readers{}}).Handler()

	status, ctype, body := call(t, h, "namespaces/team/promotions/shop-1-prod/hooks/migrate/log?step=preDeploy")
	if status != http.StatusOK || ctype != "text/plain; charset=utf-8" || body != "migrated 3 tables\n" {
		t.Errorf("one step: %d %s %q", status, ctype, body)
	}
	_, _, body = call(t, h, "namespaces/team/promotions/shop-1-prod/hooks/migrate/log")
	if want := "==> preDeploy migrate in cluster local <==\nmigrated 3 tables\n==> postDeploy migrate in cluster local <==\nnothing to do\n"; body != want {
		t.Errorf("both steps: %q", body)
	}
	for _, hook := range []string{"smoke", "absent"} {
		if status, _, body := call(t, h, "namespaces/team/promotions/shop-1-prod/hooks/"+hook+"/log"); status != http.StatusNotFound || strings.Contains(body, "secret") {
			t.Errorf("%s: %d %s", hook, status, body)
		}
	}
	h = (&API{Client: fakeCache(t, p), Kube: kube, Reviews: readers{deny: map[string]bool{"get promotions": true}}}).Handler()
	if status, _, _ := call(t, h, "namespaces/team/promotions/shop-1-prod/hooks/migrate/log"); status != http.StatusForbidden {
		t.Errorf("without get on promotions: %d", status)
	}
}
