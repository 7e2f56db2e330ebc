package pki

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"slices"
	"testing"
)

func TestIssuedCertificatesChainToTheCA(t *testing.T) {
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	crtPEM, _, err := loaded.Issue(Request{CommonName: "alice", Groups: []string{"approvers", "dev"}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	crt := parse(t, crtPEM)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := crt.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client certificate does not verify against the CA: %v", err)
	}
	groups := slices.Sorted(slices.Values(crt.Subject.Organization))
	if crt.Subject.CommonName != "alice" || !slices.Equal(groups, []string{"approvers", "dev"}) {
		t.Fatalf("subject %v", crt.Subject)
	}

	srvPEM, _, err := ca.Issue(Request{CommonName: "api", IPs: []net.IP{net.IPv4(10, 244, 0, 1)}, DNSNames: []string{"kubernetes.default.svc"}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := parse(t, srvPEM)
	if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, DNSName: "kubernetes.default.svc"}); err != nil {
		t.Fatalf("serving certificate: %v", err)
	}
	if err := srv.VerifyHostname("10.244.0.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Fatal("a serving-only certificate verified as a client")
	}
}

func TestLoadCARejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	if err := WritePair(dir, "ca", []byte("nope"), []byte("nope")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(dir); err == nil {
		t.Fatal("garbage CA loaded")
	}
}

func parse(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("not PEM")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
