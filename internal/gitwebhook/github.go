package gitwebhook

import (
	"encoding/json"
	"fmt"
)

// githubRepository is the part of GitHub's repository object Ferry reads.
type githubRepository struct {
	CloneURL      string `json:"clone_url"`
	HTMLURL       string `json:"html_url"`
	DefaultBranch string `json:"default_branch"`
}

// githubPush is GitHub's push event, trimmed to what a Trigger needs.
type githubPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	HeadCommit *struct {
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
	} `json:"head_commit"`
	Repository githubRepository `json:"repository"`
	Pusher     struct {
		Name string `json:"name"`
	} `json:"pusher"`
}

// githubPullRequest is GitHub's pull_request event, trimmed likewise.
type githubPullRequest struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest struct {
		Head struct {
			Ref string `json:"ref"`
			SHA string `json:"sha"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
		} `json:"base"`
		Merged bool `json:"merged"`
	} `json:"pull_request"`
	Repository githubRepository `json:"repository"`
	Sender     struct {
		Login string `json:"login"`
	} `json:"sender"`
}

// githubPRActions are the pull request actions that deploy its head commit, and how a
// Reason tells them.
var githubPRActions = map[string]string{
	"opened":      "opened",
	"reopened":    "reopened",
	"synchronize": "updated with new commits",
}

func decideGitHub(event string, body []byte, mainBranches []string) (Trigger, error) {
	t := Trigger{Provider: GitHub}
	switch event {
	case "push":
		return githubPushTrigger(t, body, mainBranches)
	case "pull_request":
		return githubPullRequestTrigger(t, body)
	case "ping":
		return ignore(t, "GitHub ping: the webhook is set up"), nil
	default:
		return ignore(t, fmt.Sprintf("GitHub event %q is not one Ferry acts on", event)), nil
	}
}

func githubPushTrigger(t Trigger, body []byte, mainBranches []string) (Trigger, error) {
	var ev githubPush
	if err := json.Unmarshal(body, &ev); err != nil {
		return Trigger{}, fmt.Errorf("decoding GitHub push event: %w", err)
	}
	t.RepoURL, t.WebURL, t.Actor = ev.Repository.CloneURL, ev.Repository.HTMLURL, ev.Pusher.Name
	// For an annotated tag, "after" is the tag object; head_commit is the commit it
	// names, which is what gets built.
	commit := ev.After
	if ev.HeadCommit != nil && !ev.Deleted {
		commit = ev.HeadCommit.ID
		t.CommittedAt = parseTime(ev.HeadCommit.Timestamp)
	}
	p := push{ref: ev.Ref, commit: commit, defaultBranch: ev.Repository.DefaultBranch, deleted: ev.Deleted}
	return decidePush(t, p, mainBranches), nil
}

func githubPullRequestTrigger(t Trigger, body []byte) (Trigger, error) {
	var ev githubPullRequest
	if err := json.Unmarshal(body, &ev); err != nil {
		return Trigger{}, fmt.Errorf("decoding GitHub pull_request event: %w", err)
	}
	pr := ev.PullRequest
	t.RepoURL, t.WebURL, t.Actor = ev.Repository.CloneURL, ev.Repository.HTMLURL, ev.Sender.Login
	t.PullRequest, t.Commit = ev.Number, pr.Head.SHA
	t.Branch, t.TargetBranch = pr.Head.Ref, pr.Base.Ref
	switch {
	case githubPRActions[ev.Action] != "":
		t.Kind, t.Reason = PR, fmt.Sprintf("pull request #%d %s", ev.Number, githubPRActions[ev.Action])
	case ev.Action == "closed" && pr.Merged:
		t.Kind, t.Reason = ClosePR, fmt.Sprintf("pull request #%d merged", ev.Number)
	case ev.Action == "closed":
		t.Kind, t.Reason = ClosePR, fmt.Sprintf("pull request #%d closed", ev.Number)
	default:
		t = ignore(t, fmt.Sprintf("pull request #%d %s: its code did not change", ev.Number, ev.Action))
	}
	return t, nil
}
