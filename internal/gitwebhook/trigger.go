// Package gitwebhook turns a webhook request from GitHub or GitLab into a Trigger: which
// flow, if any, a push or a pull (merge) request starts. The request is verified
// against the shared secret before its body is read, so a forged request never becomes a
// trigger. The package is pure: the HTTP server reads the request (bounding its size)
// and acts on the answer.
package gitwebhook

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Provider names the git host a request came from.
type Provider string

// The providers.
const (
	GitHub Provider = "github"
	GitLab Provider = "gitlab"
)

// Kind is what a request asks Ferry to do. The values of Release, PR and Branch are the
// names of the release flows they start.
type Kind string

// The kinds.
const (
	// Release: a push to a main branch, or a tag.
	Release Kind = "release"
	// PR: a pull request opened, reopened or given new commits; its preview is deployed.
	PR Kind = "pr"
	// Branch: a push to any other branch.
	Branch Kind = "branch"
	// ClosePR: a pull request closed or merged; its preview is deleted.
	ClosePR Kind = "close-pr"
	// Ignore: nothing to do; Reason says why.
	Ignore Kind = "ignore"
)

// Trigger is the decision taken on one request.
type Trigger struct {
	// Provider is the git host that sent the request.
	Provider Provider
	// Kind is what to do.
	Kind Kind
	// RepoURL is the repository's HTTPS clone URL; for a pull request, the URL of the
	// repository it targets, which also serves its head commit.
	RepoURL string
	// WebURL is the repository's page, for links in messages.
	WebURL string
	// Commit is the full SHA of the commit to deliver.
	Commit string
	// Branch is the pushed branch, or a pull request's source branch.
	Branch string
	// TargetBranch is the branch a pull request merges into.
	TargetBranch string
	// Tag is the pushed tag.
	Tag string
	// PullRequest is the pull request's number (GitLab: its iid).
	PullRequest int
	// CommittedAt is when Commit was made; zero when the payload does not say.
	CommittedAt time.Time
	// Actor is who pushed or acted on the pull request.
	Actor string
	// Reason says, for people, why this Kind was chosen.
	Reason string
}

// DefaultMainBranches are the branches whose pushes are releases when Config names none.
var DefaultMainBranches = []string{"main", "master"}

// Config is what the receiver knows before any request arrives.
type Config struct {
	// Secret is the shared secret set on the git host's webhook.
	Secret []byte
	// MainBranches are the branches whose pushes are releases (nil: DefaultMainBranches).
	// The repository's default branch, when the payload names it, is one too.
	MainBranches []string
}

// Validate reports a Config that could not verify any request.
func (c Config) Validate() error {
	if len(c.Secret) == 0 {
		return ErrNoSecret
	}
	return nil
}

// ErrUnknownProvider is returned for a request that carries neither GitHub's nor
// GitLab's event header: it cannot be verified, let alone read.
var ErrUnknownProvider = errors.New("not a GitHub or GitLab webhook request: no X-GitHub-Event or X-Gitlab-Event header")

// Receive verifies a request's headers and raw body and decides what it triggers. An
// error wrapping ErrUnauthorized means the signature or token is missing or wrong;
// ErrNoSecret, that the Config cannot verify anything; any other error, that the
// request was malformed. An event Ferry does not act on is a Trigger of Kind Ignore,
// not an error, so the git host does not report failed deliveries for it.
func Receive(cfg Config, header http.Header, body []byte) (Trigger, error) {
	if err := cfg.Validate(); err != nil {
		return Trigger{}, err
	}
	githubEvent, gitlabEvent := header.Get(githubEventHeader), header.Get(gitlabEventHeader)
	switch {
	case githubEvent != "" && gitlabEvent == "":
		if err := verifyGitHub(cfg.Secret, header, body); err != nil {
			return Trigger{}, err
		}
		return decideGitHub(githubEvent, body, cfg.mainBranches())
	case gitlabEvent != "" && githubEvent == "":
		if err := verifyGitLab(cfg.Secret, header); err != nil {
			return Trigger{}, err
		}
		return decideGitLab(gitlabEvent, body, cfg.mainBranches())
	default:
		return Trigger{}, ErrUnknownProvider
	}
}

func (c Config) mainBranches() []string {
	if len(c.MainBranches) == 0 {
		return DefaultMainBranches
	}
	return c.MainBranches
}

// zeroSHA is the "after" of a push that deleted its ref, on both hosts.
const zeroSHA = "0000000000000000000000000000000000000000"

// push is what both hosts say about a pushed ref.
type push struct {
	ref, commit, defaultBranch string
	deleted                    bool
}

// decidePush fills t's Kind, Branch or Tag, Commit and Reason for a pushed ref.
func decidePush(t Trigger, p push, mainBranches []string) Trigger {
	if p.deleted || p.commit == "" || p.commit == zeroSHA {
		return ignore(t, fmt.Sprintf("%s was deleted", p.ref))
	}
	t.Commit = p.commit
	if tag, ok := strings.CutPrefix(p.ref, "refs/tags/"); ok {
		t.Kind, t.Tag, t.Reason = Release, tag, fmt.Sprintf("tag %s pushed", tag)
		return t
	}
	branch, ok := strings.CutPrefix(p.ref, "refs/heads/")
	if !ok {
		return ignore(t, fmt.Sprintf("%s is neither a branch nor a tag", p.ref))
	}
	t.Branch = branch
	if branch == p.defaultBranch || slices.Contains(mainBranches, branch) {
		t.Kind, t.Reason = Release, fmt.Sprintf("push to main branch %s", branch)
		return t
	}
	t.Kind, t.Reason = Branch, fmt.Sprintf("push to branch %s", branch)
	return t
}

func ignore(t Trigger, reason string) Trigger {
	t.Kind, t.Reason = Ignore, reason
	return t
}

// parseTime reads an RFC 3339 timestamp; a missing or odd one is zero, since when a
// commit was made is worth recording but never worth refusing a delivery over.
func parseTime(s string) time.Time {
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return at.UTC()
}
