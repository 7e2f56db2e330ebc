package gitwebhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

var testSecret = []byte("It's a Secret to Everybody")

// readPayload reads a trimmed copy of a documented example payload.
func readPayload(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// githubSign computes X-Hub-Signature-256 as GitHub does.
func githubSign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// githubHeader is what GitHub sends with an event signed under testSecret.
func githubHeader(event string, body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	h.Set("X-GitHub-Event", event)
	h.Set("X-Hub-Signature-256", githubSign(testSecret, body))
	return h
}

// gitlabHeader is what GitLab sends with an event whose token is testSecret.
func gitlabHeader(event string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Gitlab-Event", event)
	h.Set("X-Gitlab-Token", string(testSecret))
	return h
}

// checkTrigger compares two triggers, their times by Equal.
func checkTrigger(t *testing.T, got, want Trigger) {
	t.Helper()
	if !got.CommittedAt.Equal(want.CommittedAt) {
		t.Errorf("CommittedAt = %v, want %v", got.CommittedAt, want.CommittedAt)
	}
	got.CommittedAt = want.CommittedAt
	if got != want {
		t.Errorf("trigger:\n got %+v\nwant %+v", got, want)
	}
}
