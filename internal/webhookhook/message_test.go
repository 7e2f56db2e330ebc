package webhookhook

import (
	"net/url"
	"strings"
	"testing"
)

func TestExcerpt(t *testing.T) {
	tests := []struct {
		body string
		n    int
		want string
	}{
		{"", 10, ""},
		{"  ok\n", 10, "ok"},
		{"0123456789", 10, "0123456789"},
		{"0123456789abc", 10, "0123456789…"},
		// "é" is two bytes; a cut between them drops the half character.
		{"abcé", 4, "abc…"},
		{"abcé", 5, "abcé"},
		{"ab€cd", 4, "ab…"},
		{"bad \xff byte", 20, "bad \uFFFD byte"},
	}
	for _, tt := range tests {
		if got := excerpt([]byte(tt.body), tt.n); got != tt.want {
			t.Errorf("excerpt(%q, %d) = %q, want %q", tt.body, tt.n, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	u, err := url.Parse("https://ops:pa55word-long@hooks.example.com/ferry?token=abcdefgh1234&env=prod")
	if err != nil {
		t.Fatal(err)
	}
	secrets := secretsOf(u, map[string]string{"Authorization": "Bearer tok-9876543210", "Accept": "json"})
	tests := []struct{ in, want string }{
		{"bad token abcdefgh1234", "bad token [redacted]"},
		{"query token=abcdefgh1234&env=prod echoed", "query [redacted] echoed"},
		{"got Bearer tok-9876543210", "got [redacted]"},
		{"token tok-9876543210 expired", "token [redacted] expired"},
		{"user ops password pa55word-long", "user ops password [redacted]"},
		// Short values are not hidden: env=prod and Accept: json stay readable.
		{"prod wants json", "prod wants json"},
	}
	for _, tt := range tests {
		if got := redact(tt.in, secrets); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := describe(u); got != "https://hooks.example.com/ferry" || strings.Contains(got, "ops") {
		t.Errorf("describe = %s", got)
	}
}
