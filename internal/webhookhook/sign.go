package webhookhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Headers of a hook call.
const (
	// SignatureHeader carries Sign's result over the exact body sent.
	SignatureHeader = "X-Ferry-Signature"
	// DeliveryHeader carries Payload.DeliveryID, the same on every retry.
	DeliveryHeader = "X-Ferry-Delivery"
)

const signaturePrefix = "sha256="

// Reasons Verify refuses a call; test with errors.Is.
var (
	ErrNoSecret           = errors.New("no secret configured to verify the signature with")
	ErrMissingSignature   = errors.New("missing " + SignatureHeader + " header")
	ErrMalformedSignature = errors.New("malformed " + SignatureHeader + " header")
	ErrSignatureMismatch  = errors.New(SignatureHeader + " does not match the body")
)

// Sign returns the X-Ferry-Signature value for body: "sha256=" and the hex HMAC-SHA256 of
// the body under secret.
func Sign(secret, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, body))
}

// Verify checks that header is Sign(secret, body) for the exact bytes received; a
// receiver calls it before parsing the body. An empty secret is refused rather than
// accepted, since anyone can sign with it.
func Verify(secret, body []byte, header string) error {
	if len(secret) == 0 {
		return ErrNoSecret
	}
	if header == "" {
		return ErrMissingSignature
	}
	hexSum, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return fmt.Errorf("%w: want %q followed by a hex HMAC-SHA256", ErrMalformedSignature, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: want %d hex digits after %q", ErrMalformedSignature, 2*sha256.Size, signaturePrefix)
	}
	// hmac.Equal takes the same time wherever the first difference is, so the answer
	// does not tell an attacker how much of a forged signature was right.
	if !hmac.Equal(got, mac(secret, body)) {
		return ErrSignatureMismatch
	}
	return nil
}

func mac(secret, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(body)
	return h.Sum(nil)
}
