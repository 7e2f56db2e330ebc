package gitwebhook

import (
	"encoding/json"
	"fmt"
	"time"
)

// gitlabProject is the part of GitLab's project object Ferry reads.
type gitlabProject struct {
	GitHTTPURL    string `json:"git_http_url"`
	WebURL        string `json:"web_url"`
	DefaultBranch string `json:"default_branch"`
}

// gitlabCommit is a commit as GitLab's hooks list it.
type gitlabCommit struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
}

// gitlabPush is GitLab's Push Hook and Tag Push Hook payload, trimmed to what a Trigger
// needs.
type gitlabPush struct {
	Ref          string         `json:"ref"`
	After        string         `json:"after"`
	CheckoutSHA  string         `json:"checkout_sha"`
	UserUsername string         `json:"user_username"`
	UserName     string         `json:"user_name"`
	Project      gitlabProject  `json:"project"`
	Commits      []gitlabCommit `json:"commits"`
}

// gitlabMergeRequest is GitLab's Merge Request Hook payload, trimmed likewise.
type gitlabMergeRequest struct {
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	Project          gitlabProject `json:"project"`
	ObjectAttributes struct {
		IID          int          `json:"iid"`
		Action       string       `json:"action"`
		SourceBranch string       `json:"source_branch"`
		TargetBranch string       `json:"target_branch"`
		OldRev       string       `json:"oldrev"`
		LastCommit   gitlabCommit `json:"last_commit"`
	} `json:"object_attributes"`
}

func decideGitLab(event string, body []byte, mainBranches []string) (Trigger, error) {
	t := Trigger{Provider: GitLab}
	switch event {
	case "Push Hook", "Tag Push Hook":
		return gitlabPushTrigger(t, body, mainBranches)
	case "Merge Request Hook":
		return gitlabMergeRequestTrigger(t, body)
	default:
		return ignore(t, fmt.Sprintf("GitLab event %q is not one Ferry acts on", event)), nil
	}
}

func gitlabPushTrigger(t Trigger, body []byte, mainBranches []string) (Trigger, error) {
	var ev gitlabPush
	if err := json.Unmarshal(body, &ev); err != nil {
		return Trigger{}, fmt.Errorf("decoding GitLab push event: %w", err)
	}
	t.RepoURL, t.WebURL = ev.Project.GitHTTPURL, ev.Project.WebURL
	t.Actor = ev.UserUsername
	if t.Actor == "" { // Tag Push Hook payloads carry only the display name
		t.Actor = ev.UserName
	}
	// checkout_sha is the commit the ref points to (for an annotated tag, "after" is the
	// tag object); it is null once the ref is deleted.
	commit := ev.CheckoutSHA
	if commit == "" {
		commit = ev.After
	}
	t.CommittedAt = gitlabCommitTime(ev.Commits, commit)
	p := push{ref: ev.Ref, commit: commit, defaultBranch: ev.Project.DefaultBranch,
		deleted: ev.After == zeroSHA}
	return decidePush(t, p, mainBranches), nil
}

// gitlabCommitTime finds when commit was made among a push's commits (the newest 20).
func gitlabCommitTime(commits []gitlabCommit, commit string) time.Time {
	for _, c := range commits {
		if c.ID == commit {
			return parseTime(c.Timestamp)
		}
	}
	return time.Time{}
}

func gitlabMergeRequestTrigger(t Trigger, body []byte) (Trigger, error) {
	var ev gitlabMergeRequest
	if err := json.Unmarshal(body, &ev); err != nil {
		return Trigger{}, fmt.Errorf("decoding GitLab merge request event: %w", err)
	}
	mr := ev.ObjectAttributes
	t.RepoURL, t.WebURL, t.Actor = ev.Project.GitHTTPURL, ev.Project.WebURL, ev.User.Username
	t.PullRequest, t.Commit = mr.IID, mr.LastCommit.ID
	t.CommittedAt = parseTime(mr.LastCommit.Timestamp)
	t.Branch, t.TargetBranch = mr.SourceBranch, mr.TargetBranch
	switch {
	case mr.Action == "open" || mr.Action == "reopen":
		t.Kind, t.Reason = PR, fmt.Sprintf("merge request !%d %sed", mr.IID, mr.Action)
	case mr.Action == "update" && mr.OldRev != "":
		t.Kind, t.Reason = PR, fmt.Sprintf("merge request !%d updated with new commits", mr.IID)
	case mr.Action == "update":
		// GitLab sends "update" for a new title or label too; only oldrev, present
		// when the code changed, says a new commit needs deploying.
		t = ignore(t, fmt.Sprintf("merge request !%d updated without new commits", mr.IID))
	case mr.Action == "close":
		t.Kind, t.Reason = ClosePR, fmt.Sprintf("merge request !%d closed", mr.IID)
	case mr.Action == "merge":
		t.Kind, t.Reason = ClosePR, fmt.Sprintf("merge request !%d merged", mr.IID)
	default:
		t = ignore(t, fmt.Sprintf("merge request !%d %s: its code did not change", mr.IID, mr.Action))
	}
	return t, nil
}
