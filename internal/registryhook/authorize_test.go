package registryhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestAuthorize(t *testing.T) {
	const want = "Bearer 9f86d081884c7d659a2feaa0c55ad015"
	tests := []struct {
		name    string
		sent    string // "" sends no header
		want    string
		wantErr error
	}{
		{"the configured value", want, want, nil},
		{"no header", "", want, ErrUnauthorized},
		{"another token of the same length", "Bearer " + strings.Repeat("0", 32), want, ErrUnauthorized},
		{"a prefix of the value", want[:20], want, ErrUnauthorized},
		{"the value and more", want + "0", want, ErrUnauthorized},
		{"another scheme", "Basic " + strings.TrimPrefix(want, "Bearer "), want, ErrUnauthorized},
		{"nothing configured", "", "", ErrNoSecret},
		{"nothing configured, header sent", want, "", ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.sent != "" {
				h.Set("Authorization", tt.sent)
			}
			err := Authorize(h, "Authorization", tt.want)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Authorize = %v, want %v", err, tt.wantErr)
			}
			if err != nil && tt.sent != "" && strings.Contains(err.Error(), tt.sent) {
				t.Errorf("error %q repeats the value sent", err)
			}
		})
	}
}
