//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ferry.dev/ferry/test/e2e/e2ekit"
)

// slackToken is the bot token of the fake Slack, kept in a Secret as a real one is.
const slackToken = "xoxb-e2e-token" //nolint:gosec // the fake Slack's own token

// fakeSlack is Slack's Web API chat.postMessage on loopback, as Slack documents it: a
// JSON body with channel, text and thread_ts, the bot token as bearer, and an answer
// {"ok":true,"channel":...,"ts":...}. It keeps every message and what Slack would refuse.
type fakeSlack struct {
	srv      *httptest.Server
	mu       sync.Mutex
	messages []slackMessage
	problems []string
}

type slackMessage struct {
	Channel string `json:"channel"`
	Text    string `json:"text"`
	Thread  string `json:"thread_ts"`
	ts      string
}

func newFakeSlack() *fakeSlack {
	s := &fakeSlack{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.post))
	return s
}

func (s *fakeSlack) post(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m slackMessage
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/api/chat.postMessage":
		s.problems = append(s.problems, r.Method+" "+r.URL.Path)
	case r.Header.Get("Authorization") != "Bearer "+slackToken:
		s.problems = append(s.problems, "token "+r.Header.Get("Authorization"))
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		s.problems = append(s.problems, "content type "+r.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Channel == "" || m.Text == "" {
		s.problems = append(s.problems, fmt.Sprintf("message %+v: %v", m, err))
	}
	m.ts = fmt.Sprintf("1700000000.%06d", len(s.messages)+1)
	s.messages = append(s.messages, m)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": m.Channel, "ts": m.ts})
}

// tokenSecret keeps the bot token in a Secret of ns and returns NS/NAME/KEY.
func (e *clusterEnv) tokenSecret(t *testing.T, ns string) string {
	t.Helper()
	_, err := e.cs.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "slack-bot"},
		Data: map[string][]byte{"token": []byte(slackToken)}}, metav1.CreateOptions{})
	must(t, err)
	return ns + "/slack-bot/token"
}

// checkSlack: each delivery is one thread, opened with the delivery and answered with
// a reply per step a person cares about, in order within each stage.
func (e *clusterEnv) checkSlack(t *testing.T, s *fakeSlack) {
	t.Helper()
	threads := map[string][]string{} // the root's text -> replies
	e2ekit.Eventually(t, 60*time.Second, "the Slack threads", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		clear(threads)
		roots := map[string]string{}
		for _, m := range s.messages {
			if m.Thread == "" {
				roots[m.ts] = m.Text
				threads[m.Text] = nil
				continue
			}
			threads[roots[m.Thread]] = append(threads[roots[m.Thread]], m.Text)
		}
		// Complete: 3.0.0's ten replies, and 3.1.0's through its rollback (its last).
		if len(threads) != 2 || !slices.ContainsFunc(threads["delivery of hello 3.1.0 started"], rolledBackInDev) || len(threads["delivery of hello 3.0.0 started"]) < 10 {
			return fmt.Errorf("threads so far: %q", threads)
		}
		return nil
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) > 0 {
		t.Errorf("requests Slack would refuse: %q", s.problems)
	}
	got := threads["delivery of hello 3.0.0 started"]
	for _, stage := range []struct {
		name string
		want []string
	}{
		{"dev", []string{"deploying to dev", "dev done"}},
		{"stage", []string{"approval needed in stage: ", "approved in stage by alice (hello-approvers)", "deploying to stage", "stage done"}},
		{"prod", []string{"approval needed in prod: ", "approved in prod by ", "deploying to prod", "prod done"}},
	} {
		var mine []string
		for _, r := range got {
			if strings.Contains(r, " "+stage.name) || strings.HasPrefix(r, stage.name) {
				mine = append(mine, r)
			}
		}
		if len(mine) != len(stage.want) {
			t.Errorf("3.0.0's replies about %s: %q, want %q", stage.name, mine, stage.want)
			continue
		}
		for i, w := range stage.want {
			if !strings.HasPrefix(mine[i], w) {
				t.Errorf("3.0.0's reply %d about %s: %q, want %q...", i, stage.name, mine[i], w)
			}
		}
	}
	if got := threads["delivery of hello 3.1.0 started"]; len(got) == 0 || got[0] != "deploying to dev" || !rolledBackInDev(got[len(got)-1]) {
		t.Errorf("3.1.0's thread: %q, want deploying to dev, then a reply saying dev rolled back and why", got)
	}
	t.Logf("Slack: %d messages in 2 threads: %q", len(s.messages), threads)
}

// rolledBackInDev reports whether a reply says dev rolled back (and why).
func rolledBackInDev(reply string) bool { return strings.HasPrefix(reply, "rolled back in dev: ") }
