//go:build e2e

package alerts

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry.dev/ferry/test/e2e/e2ekit"
)

// slackHookPath is the path of the fake incoming webhook, shaped like Slack's.
const slackHookPath = "/services/T0FERRY/B0ALERTS/e2e-token"

// slackMessage is the JSON Alertmanager 0.25's Slack notifier posts; decoding refuses a
// field not listed here, so a change of shape fails the test.
type slackMessage struct {
	Channel     string `json:"channel"`
	Username    string `json:"username"`
	IconEmoji   string `json:"icon_emoji"`
	IconURL     string `json:"icon_url"`
	LinkNames   bool   `json:"link_names"`
	Attachments []struct {
		Title      string            `json:"title"`
		TitleLink  string            `json:"title_link"`
		Pretext    string            `json:"pretext"`
		Text       string            `json:"text"`
		Fallback   string            `json:"fallback"`
		CallbackID string            `json:"callback_id"`
		Fields     []json.RawMessage `json:"fields"`
		Actions    []json.RawMessage `json:"actions"`
		ImageURL   string            `json:"image_url"`
		ThumbURL   string            `json:"thumb_url"`
		Footer     string            `json:"footer"`
		Color      string            `json:"color"`
		MrkdwnIn   []string          `json:"mrkdwn_in"`
	} `json:"attachments"`
}

// received is one message and when it arrived.
type received[T any] struct {
	at  time.Time
	msg T
}

// slackHook stands in for Slack's incoming webhook on loopback: Slack cannot run here,
// and nothing may leave the machine. It answers "ok" as Slack does, and records what a
// well-formed request carried; anything else fails the test.
type slackHook struct {
	t    *testing.T
	url  string
	mu   sync.Mutex
	msgs []received[slackMessage]
}

func startSlack(t *testing.T) *slackHook {
	t.Helper()
	h := &slackHook{t: t}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	h.url = srv.URL + slackHookPath
	return h
}

func (h *slackHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if r.Method != http.MethodPost || r.URL.Path != slackHookPath || r.Header.Get("Content-Type") != "application/json" {
		h.t.Errorf("Slack hook: %s %s (Content-Type %q), want a JSON POST to %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"), slackHookPath)
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var m slackMessage
	if err := dec.Decode(&m); err != nil {
		h.t.Errorf("Slack hook: %v in %s", err, body)
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	h.t.Logf("Slack hook got %s", body)
	h.mu.Lock()
	h.msgs = append(h.msgs, received[slackMessage]{at: time.Now(), msg: m})
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok")
}

// firing is the first message that says alertname is firing, if one came.
func (h *slackHook) firing(alertname string) (received[slackMessage], bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.msgs {
		if len(r.msg.Attachments) > 0 && strings.HasPrefix(r.msg.Attachments[0].Title, "[FIRING:") &&
			strings.Contains(r.msg.Attachments[0].Title, alertname) {
			return r, true
		}
	}
	return received[slackMessage]{}, false
}

// smtpServer is the SMTP server on loopback the mails are read from.
type smtpServer struct {
	addr, dir string
}

func startSMTP(t *testing.T) *smtpServer {
	s := e2ekit.StartSMTP(t)
	return &smtpServer{addr: s.Addr, dir: s.Dir}
}

// firing is the first mail whose subject says alertname is firing, with the time its
// file was written, if one came.
func (s *smtpServer) firing(t *testing.T, alertname string) (received[*mail.Message], bool) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.dir, "new", "*"))
	var first received[*mail.Message]
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		subject := m.Header.Get("Subject")
		if !strings.HasPrefix(subject, "[FIRING:") || !strings.Contains(subject, alertname) {
			continue
		}
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if first.msg == nil || fi.ModTime().Before(first.at) {
			first = received[*mail.Message]{at: fi.ModTime(), msg: m}
		}
	}
	return first, first.msg != nil
}
