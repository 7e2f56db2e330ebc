package registryhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
)

// ErrUnauthorized is returned when a request lacks the configured header or carries a
// different value: the server answers 401 and logs no part of the request.
var ErrUnauthorized = errors.New("registry notification not authenticated")

// ErrNoSecret is returned when Authorize is asked to expect an empty value, which every
// request without the header would match.
var ErrNoSecret = errors.New("no registry notification secret configured")

// Authorize checks that header carries name with exactly the value the registry's
// endpoint configuration sends on every notification, such as
// Authorization: Bearer TOKEN. The error never holds the value received, which may be
// a near miss of the secret.
func Authorize(header http.Header, name, want string) error {
	if want == "" {
		return ErrNoSecret
	}
	got := header.Get(name)
	if got == "" {
		return fmt.Errorf("%w: no %s header", ErrUnauthorized, name)
	}
	// Comparing digests keeps the time taken from depending on the value's length as
	// well as on its content.
	gotSum, wantSum := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(gotSum[:], wantSum[:]) != 1 {
		return fmt.Errorf("%w: %s header does not match", ErrUnauthorized, name)
	}
	return nil
}
