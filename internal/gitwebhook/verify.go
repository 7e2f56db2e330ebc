package gitwebhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// Headers the hosts send.
const (
	githubEventHeader     = "X-GitHub-Event"
	githubSignatureHeader = "X-Hub-Signature-256"
	gitlabEventHeader     = "X-Gitlab-Event"
	gitlabTokenHeader     = "X-Gitlab-Token" //nolint:gosec // a header name, not a credential
)

// ErrUnauthorized is wrapped by every refusal of a request's signature or token: the
// server answers 401 and logs the AuthError, never the body.
var ErrUnauthorized = errors.New("webhook request not authenticated")

// ErrNoSecret is returned when no secret is configured. Refusing is the only safe
// answer: anyone can compute an HMAC under an empty key.
var ErrNoSecret = errors.New("no webhook secret configured")

// AuthError says why a request's signature or token was refused. It never holds what
// the request sent: a wrong GitLab token may be an old secret, and belongs in no log.
type AuthError struct {
	// Provider is the host the request claimed to come from.
	Provider Provider
	// Header is the header that was missing or wrong.
	Header string
	// Problem says what was wrong with it.
	Problem string
}

func (e *AuthError) Error() string {
	return string(e.Provider) + " webhook: " + e.Header + " " + e.Problem
}

// Unwrap lets errors.Is(err, ErrUnauthorized) hold for every AuthError.
func (e *AuthError) Unwrap() error { return ErrUnauthorized }

// verifyGitHub checks X-Hub-Signature-256, "sha256=" and the hex HMAC-SHA256 of the raw
// body under the secret. The older SHA-1 X-Hub-Signature is not accepted in its place.
func verifyGitHub(secret []byte, header http.Header, body []byte) error {
	refuse := func(problem string) error {
		return &AuthError{Provider: GitHub, Header: githubSignatureHeader, Problem: problem}
	}
	value := header.Get(githubSignatureHeader)
	if value == "" {
		return refuse("is missing")
	}
	hexSum, ok := strings.CutPrefix(value, "sha256=")
	if !ok {
		return refuse(`does not start with "sha256="`)
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || len(got) != sha256.Size {
		return refuse("is not a hex SHA-256 digest")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	// hmac.Equal takes as long wherever the first difference lies, so timing does not
	// tell a forger how much of a guess was right.
	if !hmac.Equal(got, mac.Sum(nil)) {
		return refuse("does not match the body")
	}
	return nil
}

// verifyGitLab checks X-Gitlab-Token, which GitLab sends as the secret itself.
func verifyGitLab(secret []byte, header http.Header) error {
	refuse := func(problem string) error {
		return &AuthError{Provider: GitLab, Header: gitlabTokenHeader, Problem: problem}
	}
	value := header.Get(gitlabTokenHeader)
	if value == "" {
		return refuse("is missing")
	}
	// Comparing digests rather than the strings keeps the comparison's time from
	// depending on the token's length as well as on its content.
	got, want := sha256.Sum256([]byte(value)), sha256.Sum256(secret)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return refuse("does not match the secret")
	}
	return nil
}
