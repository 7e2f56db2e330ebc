// Package messages holds the words of the notifications people read (a delivery's Slack
// thread and its replies, mail subjects and bodies) as Go text templates: defaults
// built in (default.yaml), any of which an operator's file replaces. Every template is
// tried on sample data when loaded, so a misspelt field fails at start-up, naming the
// template, instead of at the first delivery.
package messages

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"
)

// Data is what a template sees.
type Data struct {
	Application, Stage, Version, Release string
	// Promotion and Namespace name the Promotion the event is of.
	Promotion, Namespace string
	// Step, Reason and Message are the event's.
	Step, Reason, Message string
	Time                  time.Time
	// Approvers is who approved, "ann (leads), bob (ops)".
	Approvers string
	// ApproveURL is where people approve this stage ("" when none is configured).
	ApproveURL string
	// CreatedBy and Source open a delivery's thread: who asked for the Release and
	// REPO@SHA (each "" when unknown).
	CreatedBy, Source string
}

// The kinds of message.
const (
	Delivery       = "delivery"
	Deploying      = "deploying"
	ApprovalNeeded = "approvalNeeded"
	Approved       = "approved"
	RolledBack     = "rolledBack"
	Done           = "done"
	Superseded     = "superseded"
	Failed         = "failed"
)

var (
	slackKinds = []string{Delivery, Deploying, ApprovalNeeded, Approved, RolledBack, Done, Superseded, Failed}
	mailKinds  = []string{ApprovalNeeded, RolledBack, Done, Failed}
)

//go:embed default.yaml
var defaults []byte

// file is the YAML form of a set.
type file struct {
	Slack map[string]string `json:"slack"`
	Mail  struct {
		Subject map[string]string `json:"subject"`
		Body    *string           `json:"body"`
	} `json:"mail"`
}

// Set is one set of templates.
type Set struct {
	slack, subject map[string]*template.Template
	body           *template.Template
}

// Default is the built-in set.
func Default() *Set {
	s, err := parse(&Set{slack: map[string]*template.Template{}, subject: map[string]*template.Template{}}, "built-in templates", defaults)
	if err != nil {
		panic(err) // default.yaml is part of the binary; its test parses it
	}
	return s
}

// Load is the built-in set with the templates of the file at path in their place.
func Load(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(Default(), path, b)
}

// parse adds the templates of a YAML document to s, refusing unknown kinds.
func parse(s *Set, name string, b []byte) (*Set, error) {
	var f file
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for kind, text := range f.Slack {
		t, err := compile(name, "slack."+kind, text, slackKinds)
		if err != nil {
			return nil, err
		}
		s.slack[kind] = t
	}
	for kind, text := range f.Mail.Subject {
		t, err := compile(name, "mail.subject."+kind, text, mailKinds)
		if err != nil {
			return nil, err
		}
		s.subject[kind] = t
	}
	if f.Mail.Body != nil {
		t, err := compile(name, "mail.body", *f.Mail.Body, []string{"body"})
		if err != nil {
			return nil, err
		}
		s.body = t
	}
	return s, nil
}

// compile parses one template and tries it on sample data.
func compile(file, key, text string, known []string) (*template.Template, error) {
	kind := key[strings.LastIndex(key, ".")+1:]
	if !contains(known, kind) {
		sorted := append([]string(nil), known...)
		sort.Strings(sorted)
		return nil, fmt.Errorf("%s: %s: unknown message; the known ones are %s", file, key, strings.Join(sorted, ", "))
	}
	t, err := template.New(key).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := t.Execute(new(bytes.Buffer), sample); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return t, nil
}

var sample = Data{Application: "shop", Stage: "prod", Version: "1.2.0", Release: "shop-1-2-0", Promotion: "shop-1-2-0-prod",
	Namespace: "team", Step: "deploy", Reason: "PromotionSucceeded", Message: "verified in prod", Time: time.Unix(0, 0),
	Approvers: "ann (leads)", ApproveURL: "https://ferry.example.com", CreatedBy: "ann", Source: "https://git.example.com/shop@abc123"}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Slack is the Slack text of a kind of message ("" sends nothing).
func (s *Set) Slack(kind string, d Data) (string, error) {
	return run(s.slack[kind], "slack."+kind, d)
}

// MailSubject is a mail's subject ("" sends no mail).
func (s *Set) MailSubject(kind string, d Data) (string, error) {
	return run(s.subject[kind], "mail.subject."+kind, d)
}

// MailBody is a mail's body, lines ending in CRLF as SMTP wants.
func (s *Set) MailBody(d Data) (string, error) {
	b, err := run(s.body, "mail.body", d)
	return strings.ReplaceAll(strings.ReplaceAll(b, "\r\n", "\n"), "\n", "\r\n"), err
}

func run(t *template.Template, key string, d Data) (string, error) {
	if t == nil {
		return "", fmt.Errorf("no template %s", key)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()) + trailingNewline(key, b.String()), nil
}

// trailingNewline keeps a mail body's last line ending; Slack texts and subjects are
// trimmed.
func trailingNewline(key, s string) string {
	if key == "mail.body" && strings.HasSuffix(s, "\n") {
		return "\n"
	}
	return ""
}
