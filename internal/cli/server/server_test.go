package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry.dev/ferry/internal/api"
)

// TestAuthProxyFlags: no proxy flags, no proxy; a proxy's headers need its secret file,
// and a secret needs the user header.
func TestAuthProxyFlags(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		o      options
		want   *api.ProxyAuth
		errMsg string
	}{
		{name: "none"},
		{name: "trusted", o: options{proxy: api.ProxyAuth{UserHeader: "X-Forwarded-User", GroupsHeader: "X-Forwarded-Groups"}, proxySecret: secret},
			want: &api.ProxyAuth{UserHeader: "X-Forwarded-User", GroupsHeader: "X-Forwarded-Groups", Secret: []byte("s3cret")}},
		{name: "headers without a secret", o: options{proxy: api.ProxyAuth{UserHeader: "X-Forwarded-User"}}, errMsg: "--auth-proxy-secret-file is required"},
		{name: "a secret without a user header", o: options{proxySecret: secret}, errMsg: "its user header"},
		{name: "a missing secret file", o: options{proxy: api.ProxyAuth{UserHeader: "X-Forwarded-User"}, proxySecret: secret + ".missing"}, errMsg: "no such file"},
	} {
		got, err := tc.o.authProxy()
		if tc.errMsg != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errMsg) {
				t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.errMsg)
			}
			continue
		}
		if err != nil || (got == nil) != (tc.want == nil) || (got != nil && (got.UserHeader != tc.want.UserHeader ||
			got.GroupsHeader != tc.want.GroupsHeader || string(got.Secret) != string(tc.want.Secret))) {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}
