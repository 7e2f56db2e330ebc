//go:build integration

package dashboard_test

import (
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/api"
	"ferry.dev/ferry/internal/server"
)

// TestBehindAnAuthenticatingProxy: behind a proxy that signed the person in (it adds
// their name and groups and its shared secret to each request), the dashboard asks for
// no token and offers no sign-out of its own: the board shows at once, and its live
// stream comes through the proxy.
func TestBehindAnAuthenticatingProxy(t *testing.T) {
	s := startStack(t)
	writeCanaryDelivery(t, s)
	s.env.Grant(t, "ferry-viewer-sso", viewerRules, "sso-viewers")
	srv := &server.Server{Client: s.c, Local: s.env.Config,
		AuthProxy: &api.ProxyAuth{UserHeader: "X-Forwarded-User", GroupsHeader: "X-Forwarded-Groups", Secret: []byte("proxy-secret")}}
	must(t, srv.Start(s.ctx))
	backend := httptest.NewServer(srv.Handler())
	t.Cleanup(backend.Close)
	target, err := url.Parse(backend.URL)
	must(t, err)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Header.Set("X-Forwarded-User", "pat")
		r.Out.Header.Set("X-Forwarded-Groups", "sso-viewers")
		r.Out.Header.Set(api.ProxySecretHeader, "proxy-secret")
	}})
	t.Cleanup(proxy.Close)

	b := newBrowser(t, proxy.URL)
	b.open("/ns/team")
	b.waitFor("the board's rows", `document.querySelectorAll(".board-spacer .board-row").length === 2`, 10*time.Second)
	if eval[bool](b, `!!document.querySelector("#token")`) || !eval[bool](b, `document.querySelector("#sign-out").hidden`) {
		t.Error("behind the proxy the page asks for a token or offers to sign out")
	}
	b.waitFor("the live stream", `!document.querySelector("#live").hidden && document.querySelector("#live").innerText === "live"`, 10*time.Second)
	cart := &ferryv1.Application{}
	must(t, s.c.Get(s.ctx, client.ObjectKey{Namespace: "team", Name: "cart"}, cart))
	cart.Status.Stages[1].CurrentVersion = "1.0.1"
	must(t, s.c.Status().Update(s.ctx, cart))
	b.waitFor("cart's new version in prod", `(document.querySelector('[data-app="cart"] [data-stage="prod"] .version') || {}).innerText === "1.0.1"`, 10*time.Second)
	b.screenshot("board")
	b.noErrors()
}
