package messages

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	s := Default()
	d := Data{Application: "shop", Stage: "prod", Version: "1.2.0", Namespace: "team", Promotion: "shop-1-2-0-prod", Step: "done",
		Message: "verified in prod", Time: time.Date(2026, 11, 30, 4, 5, 6, 0, time.UTC), Approvers: "ann (leads), bob (ops)"}
	for _, c := range []struct{ kind, want string }{
		{Delivery, "delivery of shop 1.2.0 started"},
		{Approved, "approved in prod by ann (leads), bob (ops)"},
		{ApprovalNeeded, "approval needed in prod: verified in prod; `ferry approve shop prod`"},
		{Done, "prod done"},
	} {
		if got, err := s.Slack(c.kind, d); err != nil || got != c.want {
			t.Errorf("slack %s: %q, %v; want %q", c.kind, got, err, c.want)
		}
	}
	body, err := s.MailBody(d)
	want := "verified in prod\r\n\r\napplication: shop\r\nstage: prod\r\nversion: 1.2.0\r\npromotion: team/shop-1-2-0-prod\r\nstep: done\r\nat: 2026-11-30T04:05:06Z\r\n"
	if err != nil || body != want {
		t.Errorf("mail body %q, %v; want %q", body, err, want)
	}
	for _, k := range slackKinds {
		if _, err := s.Slack(k, d); err != nil {
			t.Errorf("slack %s: %v", k, err)
		}
	}
	for _, k := range mailKinds {
		if _, err := s.MailSubject(k, d); err != nil {
			t.Errorf("mail subject %s: %v", k, err)
		}
	}
}

func TestLoadReplacesSome(t *testing.T) {
	path := write(t, `slack:
  done: ":white_check_mark: {{.Application}} {{.Version}} is live in {{.Stage}}"
  deploying: ""
mail:
  subject: {failed: "ALERT {{.Application}} failed in {{.Stage}}"}
`)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d := Data{Application: "shop", Stage: "prod", Version: "1.2.0"}
	if got, _ := s.Slack(Done, d); got != ":white_check_mark: shop 1.2.0 is live in prod" {
		t.Errorf("replaced: %q", got)
	}
	if got, _ := s.Slack(Deploying, d); got != "" {
		t.Errorf("silenced: %q", got)
	}
	if got, _ := s.Slack(Failed, d); got != "prod failed:" {
		t.Errorf("kept default: %q", got)
	}
	if got, _ := s.MailSubject(Failed, d); got != "ALERT shop failed in prod" {
		t.Errorf("mail subject: %q", got)
	}
}

func TestLoadRefusesMistakes(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"slack: {finished: x}", "slack.finished: unknown message; the known ones are approvalNeeded, approved, delivery, deploying, done, failed, rolledBack, superseded"},
		{"mail: {subject: {deploying: x}}", "mail.subject.deploying: unknown message; the known ones are approvalNeeded, done, failed, rolledBack"},
		{"slack: {done: '{{.App}} done'}", `template: slack.done:1:2: executing "slack.done" at <.App>: can't evaluate field App`},
		{"slack: {done: '{{.Stage'}", `template: slack.done:1: unclosed action`},
		{"teams: {done: x}", `unknown field "teams"`},
	} {
		_, err := Load(write(t, c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.file, err, c.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
}

func write(t *testing.T, s string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "messages.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
