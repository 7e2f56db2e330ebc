package gitwebhook

import (
	"testing"
	"time"
)

func TestReceiveGitLab(t *testing.T) {
	const (
		pushRepo = "http://example.com/mike/diaspora.git"
		pushWeb  = "http://example.com/mike/diaspora"
		mrRepo   = "http://example.com/gitlabhq/gitlab-test.git"
		mrWeb    = "http://example.com/gitlabhq/gitlab-test"
		head     = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
	)
	committed := time.Date(2012, 1, 3, 21, 36, 29, 0, time.UTC)
	pushed := func(kind Kind, branch, reason string) Trigger {
		return Trigger{Provider: GitLab, Kind: kind, RepoURL: pushRepo, WebURL: pushWeb, Commit: head,
			Branch: branch, CommittedAt: committed, Actor: "jsmith", Reason: reason}
	}
	merge := func(kind Kind, reason string) Trigger {
		return Trigger{Provider: GitLab, Kind: kind, RepoURL: mrRepo, WebURL: mrWeb, Commit: head,
			Branch: "ms-viewport", TargetBranch: "master", PullRequest: 1, CommittedAt: committed,
			Actor: "root", Reason: reason}
	}
	tests := []struct {
		name  string
		event string
		file  string
		want  Trigger
	}{
		{"push to the default branch", "Push Hook", "push_master.json",
			pushed(Release, "master", "push to main branch master")},
		{"push to a feature branch", "Push Hook", "push_feature.json",
			pushed(Branch, "ms-viewport", "push to branch ms-viewport")},
		{"branch deleted", "Push Hook", "push_branch_deleted.json",
			Trigger{Provider: GitLab, Kind: Ignore, RepoURL: pushRepo, WebURL: pushWeb, Actor: "jsmith",
				Reason: "refs/heads/ms-viewport was deleted"}},
		{"annotated tag: checkout_sha, not the tag object", "Tag Push Hook", "tag_push.json",
			Trigger{Provider: GitLab, Kind: Release, RepoURL: pushRepo, WebURL: pushWeb, Commit: head,
				Tag: "v1.0.0", Actor: "John Smith", Reason: "tag v1.0.0 pushed"}},
		{"tag deleted", "Tag Push Hook", "tag_push_deleted.json",
			Trigger{Provider: GitLab, Kind: Ignore, RepoURL: pushRepo, WebURL: pushWeb, Actor: "John Smith",
				Reason: "refs/tags/v1.0.0 was deleted"}},
		{"merge request opened", "Merge Request Hook", "merge_request_open.json",
			merge(PR, "merge request !1 opened")},
		{"merge request reopened", "Merge Request Hook", "merge_request_reopen.json",
			merge(PR, "merge request !1 reopened")},
		{"merge request given new commits", "Merge Request Hook", "merge_request_update_commits.json",
			merge(PR, "merge request !1 updated with new commits")},
		{"merge request relabeled", "Merge Request Hook", "merge_request_update_labels.json",
			merge(Ignore, "merge request !1 updated without new commits")},
		{"merge request closed", "Merge Request Hook", "merge_request_close.json",
			merge(ClosePR, "merge request !1 closed")},
		{"merge request merged", "Merge Request Hook", "merge_request_merge.json",
			merge(ClosePR, "merge request !1 merged")},
		{"merge request approved", "Merge Request Hook", "merge_request_approved.json",
			merge(Ignore, "merge request !1 approved: its code did not change")},
		{"event Ferry does not act on", "Pipeline Hook", "pipeline.json",
			Trigger{Provider: GitLab, Kind: Ignore, Reason: `GitLab event "Pipeline Hook" is not one Ferry acts on`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := readPayload(t, "gitlab/"+tt.file)
			got, err := Receive(Config{Secret: testSecret}, gitlabHeader(tt.event), body)
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			checkTrigger(t, got, tt.want)
		})
	}
}
