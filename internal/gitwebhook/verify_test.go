package gitwebhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestReceiveVerifiesGitHub(t *testing.T) {
	body := readPayload(t, "github/push_main.json")
	good := githubSign(testSecret, body)
	tests := []struct {
		name      string
		signature string // "" leaves the header out
		body      []byte
		wantErr   bool
	}{
		{"signed with the secret", good, body, false},
		{"upper-case hex", "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), body, false},
		{"missing", "", body, true},
		{"signed with another secret", githubSign([]byte("guess"), body), body, true},
		{"body changed after signing", good, append([]byte(" "), body...), true},
		{"sha1 prefix on the same digest", "sha1=" + strings.TrimPrefix(good, "sha256="), body, true},
		{"no prefix", strings.TrimPrefix(good, "sha256="), body, true},
		{"not hex", "sha256=" + strings.Repeat("zz", 32), body, true},
		{"truncated", good[:len(good)-2], body, true},
		{"garbage body, garbage signature", "sha256=00", []byte("{not json"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := githubHeader("push", tt.body)
			h.Del("X-Hub-Signature-256")
			if tt.signature != "" {
				h.Set("X-Hub-Signature-256", tt.signature)
			}
			got, err := Receive(Config{Secret: testSecret}, h, tt.body)
			checkAuth(t, got, err, tt.wantErr)
		})
	}
}

func TestReceiveRefusesGitHubSHA1Only(t *testing.T) {
	body := readPayload(t, "github/push_main.json")
	h := githubHeader("push", body)
	h.Del("X-Hub-Signature-256")
	h.Set("X-Hub-Signature", "sha1=0123456789abcdef0123456789abcdef01234567")
	_, err := Receive(Config{Secret: testSecret}, h, body)
	var authErr *AuthError
	if !errors.As(err, &authErr) || authErr.Header != "X-Hub-Signature-256" {
		t.Fatalf("Receive = %v, want an AuthError about X-Hub-Signature-256", err)
	}
}

func TestReceiveVerifiesGitLab(t *testing.T) {
	body := readPayload(t, "gitlab/push_master.json")
	tests := []struct {
		name    string
		token   string // "" leaves the header out
		wantErr bool
	}{
		{"the secret", string(testSecret), false},
		{"missing", "", true},
		{"another token of the same length", strings.Repeat("x", len(testSecret)), true},
		{"the secret and more", string(testSecret) + "!", true},
		{"a prefix of the secret", string(testSecret[:5]), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := gitlabHeader("Push Hook")
			h.Del("X-Gitlab-Token")
			if tt.token != "" {
				h.Set("X-Gitlab-Token", tt.token)
			}
			got, err := Receive(Config{Secret: testSecret}, h, body)
			checkAuth(t, got, err, tt.wantErr)
			if err != nil && tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q repeats the token sent", err)
			}
		})
	}
}

// checkAuth asserts a verified request became a trigger and a refused one an
// AuthError wrapping ErrUnauthorized, with no trigger.
func checkAuth(t *testing.T, got Trigger, err error, wantErr bool) {
	t.Helper()
	if !wantErr {
		if err != nil || got.Kind != Release {
			t.Fatalf("Receive = %+v, %v; want a release trigger", got, err)
		}
		return
	}
	var authErr *AuthError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &authErr) {
		t.Fatalf("Receive error = %v, want an AuthError wrapping ErrUnauthorized", err)
	}
	if got != (Trigger{}) {
		t.Errorf("refused request still gave a trigger: %+v", got)
	}
}

func TestReceiveWithoutSecret(t *testing.T) {
	body := readPayload(t, "github/push_main.json")
	h := githubHeader("push", body)
	// An HMAC under an empty key is one anyone can compute.
	h.Set("X-Hub-Signature-256", githubSign(nil, body))
	if _, err := Receive(Config{}, h, body); !errors.Is(err, ErrNoSecret) {
		t.Errorf("Receive with no secret = %v, want ErrNoSecret", err)
	}
	gl := gitlabHeader("Push Hook")
	gl.Set("X-Gitlab-Token", "")
	if _, err := Receive(Config{}, gl, body); !errors.Is(err, ErrNoSecret) {
		t.Errorf("Receive with no secret = %v, want ErrNoSecret", err)
	}
}

func TestReceiveUnknownProvider(t *testing.T) {
	body := readPayload(t, "github/push_main.json")
	both := githubHeader("push", body)
	both.Set("X-Gitlab-Event", "Push Hook")
	both.Set("X-Gitlab-Token", string(testSecret))
	for name, h := range map[string]http.Header{"no event header": {}, "both hosts' headers": both} {
		if _, err := Receive(Config{Secret: testSecret}, h, body); !errors.Is(err, ErrUnknownProvider) {
			t.Errorf("%s: Receive = %v, want ErrUnknownProvider", name, err)
		}
	}
}

func TestReceiveMalformedVerifiedBody(t *testing.T) {
	body := []byte(`{"ref": 42}`)
	_, err := Receive(Config{Secret: testSecret}, githubHeader("push", body), body)
	if err == nil || errors.Is(err, ErrUnauthorized) {
		t.Errorf("Receive = %v, want a decoding error that is not ErrUnauthorized", err)
	}
}
