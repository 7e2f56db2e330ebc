//go:build integration

package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestAPIRefusesWhoItCannotTrust: with ferry server running as ferry-server, a request
// without a token, with a made-up one, or with a ServiceAccount token that is genuine
// in all but its expiry (signed with the API server's own key) is refused 401; the same
// token made again with a live expiry is accepted, and reads in a namespace the
// account has no rights in are refused 403, as are decisions by someone who is no
// approver.
func TestAPIRefusesWhoItCannotTrust(t *testing.T) {
	e := startApprovalEnv(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(e.env.Config)
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{})
	must(t, err)
	token := serviceAccountToken(t, cs, "team", "reader", true)
	apps := strings.TrimSuffix(e.url, "/shop/stages/")

	bearer := func(token, method, url, body string) reply {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		must(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		return do(t, req)
	}
	refused(t, "no token", bearer("", "GET", apps, ""), http.StatusUnauthorized, "no bearer token")
	refused(t, "a made-up token", bearer("made-up", "GET", apps, ""), http.StatusUnauthorized, "refused by the Kubernetes API")

	key := e.env.ServiceAccountKey()
	now := time.Now().Unix()
	live := resigned(t, token, key, func(c map[string]any) {}) // proves the signing: the same claims are accepted
	if r := bearer(live, "GET", apps, ""); r.status != http.StatusOK {
		t.Fatalf("the token signed again: %d %s", r.status, r.body)
	}
	expired := resigned(t, token, key, func(c map[string]any) {
		c["iat"], c["nbf"], c["exp"] = now-7200, now-7200, now-3600
	})
	refused(t, "an expired token", bearer(expired, "GET", apps, ""), http.StatusUnauthorized, "refused by the Kubernetes API (bad or expired)")

	refused(t, "another namespace", bearer(token, "GET", strings.Replace(apps, "/team/", "/other/", 1), ""),
		http.StatusForbidden, `may not list applications.ferry.dev in namespace "other"`)
	refused(t, "a reader approving", bearer(token, "POST", e.url+"prod/approve", `{}`),
		http.StatusForbidden, "system:serviceaccount:team:reader is not in an approver group of stage prod")
}

// resigned is the JWT with its claims changed by edit and signed again with the key
// (PKCS #8 PEM, ECDSA P-256: ES256) the API server checks ServiceAccount tokens by.
func resigned(t *testing.T, token, keyFile string, edit func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	must(t, err)
	if !bytes.Contains(header, []byte(`"alg":"ES256"`)) {
		t.Fatalf("the API server signs with %s, not ES256", header)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	claims := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	must(t, dec.Decode(&claims))
	edit(claims)
	payload, err = json.Marshal(claims)
	must(t, err)
	input := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload)

	pemBytes, err := os.ReadFile(keyFile)
	must(t, err)
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("%s holds no PEM", keyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	must(t, err)
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("%s holds a %T, not an ECDSA key", keyFile, k)
	}
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, ek, sum[:])
	must(t, err)
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
