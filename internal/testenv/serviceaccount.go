package testenv

import "path/filepath"

// ServiceAccountKey is the file of the private key (PKCS #8 PEM, ECDSA P-256) the API
// server signs ServiceAccount tokens with and checks them against, for tests that make
// tokens the API server must judge by their claims alone (an expired one).
func (e *Env) ServiceAccountKey() string {
	return filepath.Join(e.env.ControlPlane.APIServer.CertDir, "sa-signer.key")
}
