package gitwebhook

import (
	"testing"
	"time"
)

func TestReceiveGitHub(t *testing.T) {
	const (
		repo    = "https://github.com/Codertocat/Hello-World.git"
		web     = "https://github.com/Codertocat/Hello-World"
		head    = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
		newHead = "34c5c7793cb3b279e22454cb6750c80560547b3a"
	)
	committed := time.Date(2019, 5, 15, 20, 20, 30, 0, time.UTC)
	pushed := func(kind Kind, branch, tag, reason string) Trigger {
		return Trigger{Provider: GitHub, Kind: kind, RepoURL: repo, WebURL: web, Commit: head,
			Branch: branch, Tag: tag, CommittedAt: committed, Actor: "Codertocat", Reason: reason}
	}
	pull := func(kind Kind, commit, reason string) Trigger {
		return Trigger{Provider: GitHub, Kind: kind, RepoURL: repo, WebURL: web, Commit: commit,
			Branch: "changes", TargetBranch: "master", PullRequest: 2, Actor: "Codertocat", Reason: reason}
	}
	tests := []struct {
		name  string
		event string
		file  string
		main  []string
		want  Trigger
	}{
		{"push to main", "push", "push_main.json", nil,
			pushed(Release, "main", "", "push to main branch main")},
		{"push to the repository's default branch", "push", "push_develop_default.json", nil,
			pushed(Release, "develop", "", "push to main branch develop")},
		{"push to a branch named main by configuration", "push", "push_trunk.json", []string{"trunk"},
			pushed(Release, "trunk", "", "push to main branch trunk")},
		{"push to a branch not named main by default", "push", "push_trunk.json", nil,
			pushed(Branch, "trunk", "", "push to branch trunk")},
		{"push to master", "push", "push_master.json", nil,
			pushed(Release, "master", "", "push to main branch master")},
		{"configured names replace main and master", "push", "push_master.json", []string{"trunk"},
			pushed(Branch, "master", "", "push to branch master")},
		{"the default branch stays a main branch", "push", "push_main.json", []string{"trunk"},
			pushed(Release, "main", "", "push to main branch main")},
		{"push to a feature branch", "push", "push_feature.json", nil,
			pushed(Branch, "feature/login", "", "push to branch feature/login")},
		{"annotated tag: the commit, not the tag object", "push", "push_tag_annotated.json", nil,
			pushed(Release, "", "v1.2.0", "tag v1.2.0 pushed")},
		{"branch deleted", "push", "push_branch_deleted.json", nil,
			Trigger{Provider: GitHub, Kind: Ignore, RepoURL: repo, WebURL: web, Actor: "Codertocat",
				Reason: "refs/heads/feature/login was deleted"}},
		{"tag deleted", "push", "push_tag_deleted.json", nil,
			Trigger{Provider: GitHub, Kind: Ignore, RepoURL: repo, WebURL: web, Actor: "Codertocat",
				Reason: "refs/tags/simple-tag was deleted"}},
		{"pull request opened", "pull_request", "pull_request_opened.json", nil,
			pull(PR, head, "pull request #2 opened")},
		{"pull request reopened", "pull_request", "pull_request_reopened.json", nil,
			pull(PR, head, "pull request #2 reopened")},
		{"pull request given new commits", "pull_request", "pull_request_synchronize.json", nil,
			pull(PR, newHead, "pull request #2 updated with new commits")},
		{"pull request closed", "pull_request", "pull_request_closed.json", nil,
			pull(ClosePR, head, "pull request #2 closed")},
		{"pull request merged", "pull_request", "pull_request_merged.json", nil,
			pull(ClosePR, head, "pull request #2 merged")},
		{"pull request labeled", "pull_request", "pull_request_labeled.json", nil,
			pull(Ignore, head, "pull request #2 labeled: its code did not change")},
		{"ping", "ping", "ping.json", nil,
			Trigger{Provider: GitHub, Kind: Ignore, Reason: "GitHub ping: the webhook is set up"}},
		{"event Ferry does not act on", "issues", "issues_opened.json", nil,
			Trigger{Provider: GitHub, Kind: Ignore, Reason: `GitHub event "issues" is not one Ferry acts on`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := readPayload(t, "github/"+tt.file)
			cfg := Config{Secret: testSecret, MainBranches: tt.main}
			got, err := Receive(cfg, githubHeader(tt.event, body), body)
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			checkTrigger(t, got, tt.want)
		})
	}
}
