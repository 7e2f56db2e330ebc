package webhookhook

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// describe names a URL in messages by scheme, host and path only: its query string and
// user info may hold credentials.
func describe(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// minSecret is the shortest value redact hides: shorter values are not credentials, and
// hiding every "json" or "prod" would garble the message.
const minSecret = 8

// secretsOf lists what must not appear in a message: the query string, its values, the
// URL's password and the hook's header values (and their words, so that the token of
// "Bearer <token>" is hidden too). A receiver may echo any of them in its answer.
func secretsOf(u *url.URL, headers map[string]string) []string {
	s := []string{u.RawQuery}
	for _, vs := range u.Query() {
		s = append(s, vs...)
	}
	if pw, ok := u.User.Password(); ok {
		s = append(s, pw)
	}
	for _, v := range headers {
		s = append(s, v)
		s = append(s, strings.Fields(v)...)
	}
	return s
}

// redact replaces each secret in msg, longest first so that a value inside a longer
// one does not leave the rest of the longer one showing.
func redact(msg string, secrets []string) string {
	long := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if len(s) >= minSecret {
			long = append(long, s)
		}
	}
	slices.SortFunc(long, func(a, b string) int { return len(b) - len(a) })
	for _, s := range long {
		msg = strings.ReplaceAll(msg, s, "[redacted]")
	}
	return msg
}

// excerpt is the start of body as text for a message: at most n bytes, cut on a
// character boundary, marked when cut.
func excerpt(body []byte, n int) string {
	cut := len(body) > n
	if cut {
		body = body[:n]
		// Drop the bytes of a character the cut split.
		for i := 1; i < utf8.UTFMax && len(body) > 0; i++ {
			if r, size := utf8.DecodeLastRune(body); r != utf8.RuneError || size != 1 {
				break
			}
			body = body[:len(body)-1]
		}
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD"))
	if cut {
		s += "…"
	}
	return s
}
