package preview

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

func pr(n int32) *ferryv1.Release {
	return &ferryv1.Release{Spec: ferryv1.ReleaseSpec{Flow: ferryv1.FlowPR, Git: &ferryv1.GitInfo{Commit: "abcdef1", PullRequest: &n}}}
}

func branch(b string) *ferryv1.Release {
	return &ferryv1.Release{Spec: ferryv1.ReleaseSpec{Flow: ferryv1.FlowBranch, Git: &ferryv1.GitInfo{Commit: "abcdef1", Branch: b}}}
}

func TestNamespace(t *testing.T) {
	long := "feature/" + strings.Repeat("very-long-branch-name-", 4)
	tests := []struct {
		name string
		app  string
		rel  *ferryv1.Release
		want string
	}{
		{"release flow", "web", &ferryv1.Release{Spec: ferryv1.ReleaseSpec{Flow: ferryv1.FlowRelease}}, ""},
		{"pull request", "web", pr(7), "web-pr-7"},
		{"plain branch", "web", branch("develop"), "web-develop"},
		{"slashes, dots and case", "web", branch("Feature/JIRA-12.fix_login"), "web-feature-jira-12-fix-login"},
		{"runs and ends of odd characters", "web", branch("--feature//x..y--"), "web-feature-x-y"},
		{"non-ASCII", "web", branch("café/über"), "web-caf-ber"},
		{"nothing left of the branch", "web", branch("///"), "web-" + shortHash("///")},
		{"branch that reads as a pull request", "web", branch("pr/7"), "web-pr-7-" + shortHash("pr/7")},
		{"long branch cut with a hash", "web", branch(long), "web-feature-very-long-branch-name-very-long-branch-nam-" + shortHash("web/"+long)},
		{"long application and pull request", strings.Repeat("a", 60), pr(12345), strings.Repeat("a", 54) + "-" + shortHash(strings.Repeat("a", 60)+"-pr-12345")},
		{"branch without git facts", "web", &ferryv1.Release{Spec: ferryv1.ReleaseSpec{Flow: ferryv1.FlowBranch}}, "web-" + shortHash("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Namespace(tt.app, tt.rel)
			if got != tt.want {
				t.Errorf("Namespace = %q, want %q", got, tt.want)
			}
			if got != "" {
				if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
					t.Errorf("%q is not a namespace name: %v", got, errs)
				}
			}
		})
	}
}

func TestLongBranchesDoNotShareANamespace(t *testing.T) {
	prefix := "feature/" + strings.Repeat("x", 70)
	a, b := Namespace("web", branch(prefix+"-one")), Namespace("web", branch(prefix+"-two"))
	if a == b {
		t.Fatalf("both branches got namespace %q", a)
	}
	for _, ns := range []string{a, b} {
		if len(ns) != 63 {
			t.Errorf("%q: %d characters, want 63", ns, len(ns))
		}
	}
	// The same branch always names the same namespace, whatever Release of it.
	if again := Namespace("web", branch(prefix+"-one")); again != a {
		t.Errorf("namespace changed: %q then %q", a, again)
	}
}

func TestHost(t *testing.T) {
	tests := []struct {
		base, ns, want string
	}{
		{"apps.example.com", "web-pr-7", "web-pr-7.apps.example.com"},
		{"hello.dev.example.com", "hello-pr-7", "hello-pr-7.hello.dev.example.com"},
		{"apps.example.com.", "web-develop", "web-develop.apps.example.com"},
		{"apps.example.com", "", "apps.example.com"},
		{"", "web-pr-7", ""},
	}
	for _, tt := range tests {
		if got := Host(tt.base, tt.ns); got != tt.want {
			t.Errorf("Host(%q, %q) = %q, want %q", tt.base, tt.ns, got, tt.want)
		}
	}
	got := Hosts([]string{"a.example.com", "b.example.com"}, "web-pr-7")
	if strings.Join(got, ",") != "web-pr-7.a.example.com,web-pr-7.b.example.com" {
		t.Errorf("Hosts = %v", got)
	}
}

func TestExpired(t *testing.T) {
	made := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(r *ferryv1.Release) *ferryv1.Release {
		r.CreationTimestamp = metav1.NewTime(made)
		return r
	}
	tests := []struct {
		name string
		rel  *ferryv1.Release
		ttl  time.Duration
		now  time.Time
		want bool
	}{
		{"young preview", at(pr(7)), 72 * time.Hour, made.Add(71 * time.Hour), false},
		{"at its time to live", at(pr(7)), 72 * time.Hour, made.Add(72 * time.Hour), true},
		{"old branch preview", at(branch("develop")), time.Hour, made.Add(2 * time.Hour), true},
		{"release flow never expires", at(&ferryv1.Release{Spec: ferryv1.ReleaseSpec{Flow: ferryv1.FlowRelease}}), time.Hour, made.Add(1000 * time.Hour), false},
		{"no time to live", at(pr(7)), 0, made.Add(1000 * time.Hour), false},
		{"not yet created", pr(7), time.Hour, made, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expired(tt.rel, tt.ttl, tt.now); got != tt.want {
				t.Errorf("Expired = %v, want %v", got, tt.want)
			}
		})
	}
}

const appFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web
  stages:
    - {name: dev, flows: [release, pr], target: [{cluster_id: [local]}]}
`

func TestTTLFromTheAppFile(t *testing.T) {
	tests := []struct {
		name, line string
		want       time.Duration
	}{
		{"default", "", DefaultTTL},
		{"hours", "  previewTTL: 24h\n", 24 * time.Hour},
		{"seconds as a string", "  previewTTL: \"3600\"\n", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel := pr(7)
			rel.Name, rel.Spec.AppFile = "web-1-0-0", appFile+tt.line
			got, err := TTLOf(rel)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("TTL = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestInvalidTTLIsReportedWhereItIsWritten(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{"  previewTTL: soon\n", `ferry.yml:6:15: deploy.previewTTL: "soon" is not a duration (expected seconds or a value such as 30s, 5m)`},
		{"  previewTTL: 0s\n", `ferry.yml:6:15: deploy.previewTTL: "0s" is out of range (expected a duration above 0, such as 72h)`},
		{"  previewTTL: [72h]\n", `ferry.yml:6:15: deploy.previewTTL: expected a single value, got a list`},
	}
	for _, tt := range tests {
		_, err := appfile.LoadBytes("ferry.yml", []byte(appFile+tt.line), t.TempDir(), appfile.Options{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: got error\n%v\nwant\n%s", tt.line, err, tt.want)
		}
	}
}

func TestSelector(t *testing.T) {
	tests := []struct {
		sel     Selector
		wantErr string
		rel     *ferryv1.Release
		matches bool
	}{
		{Selector{PullRequest: 7}, "", pr(7), true},
		{Selector{PullRequest: 7}, "", pr(8), false},
		{Selector{Branch: "develop"}, "", branch("develop"), true},
		{Selector{Branch: "main"}, "", &ferryv1.Release{Spec: ferryv1.ReleaseSpec{Flow: ferryv1.FlowRelease, Git: &ferryv1.GitInfo{Branch: "main"}}}, false},
		{Selector{}, "give a pull request or a branch", nil, false},
		{Selector{PullRequest: 7, Branch: "develop"}, "give a pull request or a branch, not both", nil, false},
		{Selector{PullRequest: -1}, "pull request -1 is not a pull request number (expected 1 or more)", nil, false},
	}
	for _, tt := range tests {
		err := tt.sel.Validate()
		if got := ""; err != nil {
			got = err.Error()
			if got != tt.wantErr {
				t.Errorf("%+v: error %q, want %q", tt.sel, got, tt.wantErr)
			}
		} else if tt.wantErr != "" {
			t.Errorf("%+v: no error, want %q", tt.sel, tt.wantErr)
		}
		if tt.rel != nil && tt.sel.Matches(tt.rel) != tt.matches {
			t.Errorf("%+v matches %+v: %v, want %v", tt.sel, tt.rel.Spec, !tt.matches, tt.matches)
		}
	}
}

func TestOwned(t *testing.T) {
	ns := func(l map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web-prod", Labels: l}}
	}
	if !Owned(ns(NamespaceLabels("web")), "web") {
		t.Error("a namespace made for the preview is not owned")
	}
	if Owned(ns(nil), "web") {
		t.Error("a namespace without labels is owned")
	}
	if Owned(ns(NamespaceLabels("shop")), "web") {
		t.Error("another application's preview namespace is owned")
	}
}
