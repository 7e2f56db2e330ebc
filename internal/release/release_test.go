package release

import (
	"strings"
	"testing"
)

func TestNextVersion(t *testing.T) {
	tests := []struct {
		existing   []string
		asked, tag string
		want, err  string
	}{
		{nil, "", "latest", "0.1.0", ""},
		{[]string{"1.2.0", "1.10.0", "1.9.9"}, "", "", "1.10.1", ""},
		{[]string{"1.2.0"}, "", "1.3.0", "1.3.0", ""},
		{[]string{"1.2.0"}, "", "v1.4.0", "1.4.0", ""},
		{[]string{"1.2.0"}, "2.0.0", "1.3.0", "2.0.0", ""},
		{[]string{"1.2.0"}, "1.2.0", "", "", "is not above the highest release 1.2.0"},
		{[]string{"1.2.0"}, "", "1.1.0", "", "is not above the highest release 1.2.0"},
		{nil, "one", "", "", `version "one" is not a semantic version`},
	}
	for _, tt := range tests {
		got, err := NextVersion(tt.existing, tt.asked, tt.tag)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v %q %q: err = %v, want %q", tt.existing, tt.asked, tt.tag, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%v %q %q = %q, %v; want %q", tt.existing, tt.asked, tt.tag, got, err, tt.want)
		}
	}
}

func TestSplitRefAndFlow(t *testing.T) {
	for ref, want := range map[string][3]string{
		"127.0.0.1:5000/hello:1.2.0":          {"127.0.0.1:5000/hello", "1.2.0", ""},
		"127.0.0.1:5000/hello":                {"127.0.0.1:5000/hello", "", ""},
		"reg/hello:1.0@sha256:abc":            {"reg/hello", "1.0", "sha256:abc"},
		"registry.example.com:443/team/hello": {"registry.example.com:443/team/hello", "", ""},
	} {
		r, tag, d := splitRef(ref)
		if [3]string{r, tag, d} != want {
			t.Errorf("splitRef(%s) = %s %s %s", ref, r, tag, d)
		}
	}
	if (Options{PullRequest: 7, Branch: "feature"}).flow() != "pr" || (Options{Branch: "feature"}).flow() != "branch" ||
		(Options{Branch: "main"}).flow() != "release" || (Options{}).flow() != "release" {
		t.Error("flow chosen wrongly")
	}
	if Name("hello", "1.2.0-rc.1+b7") != "hello-1-2-0-rc-1-b7" {
		t.Errorf("name %s", Name("hello", "1.2.0-rc.1+b7"))
	}
}
