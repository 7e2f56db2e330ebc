package api

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// ProxySecretHeader carries the authenticating proxy's shared secret.
const ProxySecretHeader = "X-Ferry-Proxy-Secret" //nolint:gosec // a header's name, not a secret

// ProxyAuth trusts an authenticating proxy in front of the server (an OIDC proxy that
// signed the person in): its user and groups headers are believed only on a request
// that also carries its shared secret, since anyone else can send such headers too.
type ProxyAuth struct {
	// UserHeader names the user (X-Forwarded-User).
	UserHeader string
	// GroupsHeader, when set, lists the user's groups, comma-separated or repeated.
	GroupsHeader string
	// Secret is what the proxy sends in ProxySecretHeader.
	Secret []byte
}

// Validate is checked once at start: a proxy without a user header or a secret would
// trust nothing or everyone.
func (p *ProxyAuth) Validate() error {
	if p.UserHeader == "" || len(p.Secret) == 0 {
		return errors.New("an authenticating proxy needs its user header and its shared secret")
	}
	return nil
}

var (
	errProxySecret = errors.New("the authenticating proxy's secret is wrong")
	errProxyUser   = errors.New("the authenticating proxy sent no user")
)

// user is the request's user as the proxy names it, when the request carries the
// proxy's secret (compared in constant time). The groups gain system:authenticated, as
// the API server gives every user it authenticates.
func (p *ProxyAuth) user(h http.Header) (User, error) {
	if subtle.ConstantTimeCompare([]byte(h.Get(ProxySecretHeader)), p.Secret) != 1 {
		return User{}, errProxySecret
	}
	name := strings.TrimSpace(h.Get(p.UserHeader))
	if name == "" {
		return User{}, errProxyUser
	}
	u := User{Name: name}
	if p.GroupsHeader != "" {
		for _, v := range h.Values(p.GroupsHeader) {
			for _, g := range strings.Split(v, ",") {
				if g = strings.TrimSpace(g); g != "" && !slices.Contains(u.Groups, g) {
					u.Groups = append(u.Groups, g)
				}
			}
		}
	}
	if !slices.Contains(u.Groups, "system:authenticated") {
		u.Groups = append(u.Groups, "system:authenticated")
	}
	return u, nil
}
