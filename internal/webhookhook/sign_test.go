package webhookhook

import (
	"errors"
	"strings"
	"testing"
)

func TestSignKnownVector(t *testing.T) {
	// RFC 4231-style check against the widely published HMAC-SHA256 of this sentence.
	got := Sign([]byte("key"), []byte("The quick brown fox jumps over the lazy dog"))
	want := "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret, body := []byte("s3cr3t"), []byte(`{"type":"ferry.hook"}`)
	good := Sign(secret, body)
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   error
	}{
		{"signature of the exact body", secret, body, good, nil},
		{"no secret to check with", nil, body, good, ErrNoSecret},
		{"no header", secret, body, "", ErrMissingSignature},
		{"other algorithm", secret, body, "sha1=" + strings.TrimPrefix(good, "sha256="), ErrMalformedSignature},
		{"bare hex", secret, body, strings.TrimPrefix(good, "sha256="), ErrMalformedSignature},
		{"not hex", secret, body, "sha256=" + strings.Repeat("zz", 32), ErrMalformedSignature},
		{"too short", secret, body, good[:len(good)-2], ErrMalformedSignature},
		{"other secret", []byte("other"), body, good, ErrSignatureMismatch},
		{"body changed by a space", secret, append([]byte(" "), body...), good, ErrSignatureMismatch},
		{"upper-case hex", secret, body, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.body, tt.header)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}
