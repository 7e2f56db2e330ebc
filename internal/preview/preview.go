// Package preview decides where a preview lives and removes it: a Release of flow pr or
// branch deploys into its own namespace (APP-pr-N, APP-BRANCH) with its own host names,
// and is removed when its pull request closes or its time to live has passed.
//
// The naming functions are pure; Delete and Cleanup act on the target clusters. A
// preview namespace carries the labels of NamespaceLabels, and only a namespace that
// carries them is ever deleted: a branch named "prod" of the application "web" names
// the namespace web-prod, which may well be the application's production namespace.
package preview

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

const (
	// Finalizer holds a preview Release until its namespace is deleted in every target
	// cluster.
	Finalizer = "ferry.dev/preview"
	// LabelPreview marks a namespace made for a preview ("true"); with
	// ferryv1.LabelApplication naming the application, it allows Ferry to delete it.
	LabelPreview = "ferry.dev/preview"
	// DefaultTTL is how long a preview lives when the app file sets no
	// deploy.previewTTL.
	DefaultTTL = 72 * time.Hour
)

// maxLabel is the length limit of a DNS label, hence of a namespace name; hashLen is
// the length of the hash that ends a name cut to fit.
const (
	maxLabel = 63
	hashLen  = 8
)

// Selector picks the previews of one pull request or of one branch: exactly one field
// is set.
type Selector struct {
	// PullRequest is the pull request number, for the pr flow.
	PullRequest int32
	// Branch is the branch name as git writes it, for the branch flow.
	Branch string
}

// SelectorOf returns the preview a Release belongs to; false for a Release of flow
// release, which is no preview.
func SelectorOf(rel *ferryv1.Release) (Selector, bool) {
	switch rel.Spec.Flow {
	case ferryv1.FlowPR:
		var n int32
		if rel.Spec.Git != nil && rel.Spec.Git.PullRequest != nil {
			n = *rel.Spec.Git.PullRequest
		}
		return Selector{PullRequest: n}, true
	case ferryv1.FlowBranch:
		var b string
		if rel.Spec.Git != nil {
			b = rel.Spec.Git.Branch
		}
		return Selector{Branch: b}, true
	}
	return Selector{}, false
}

// Validate checks that exactly one of the pull request and the branch is given.
func (s Selector) Validate() error {
	switch {
	case s.PullRequest != 0 && s.Branch != "":
		return fmt.Errorf("give a pull request or a branch, not both")
	case s.PullRequest < 0:
		return fmt.Errorf("pull request %d is not a pull request number (expected 1 or more)", s.PullRequest)
	case s.PullRequest == 0 && s.Branch == "":
		return fmt.Errorf("give a pull request or a branch")
	}
	return nil
}

// Flow is the flow of the Releases the selector picks: pr with a pull request, else
// branch (a branch Release may lack its branch name; a pr Release always has its
// number).
func (s Selector) Flow() ferryv1.Flow {
	if s.PullRequest != 0 {
		return ferryv1.FlowPR
	}
	return ferryv1.FlowBranch
}

// String says which preview, for people: "pull request 7" or "branch feature/x".
func (s Selector) String() string {
	if s.Flow() == ferryv1.FlowBranch {
		return "branch " + s.Branch
	}
	return fmt.Sprintf("pull request %d", s.PullRequest)
}

// Matches reports whether the Release is a preview the selector picks.
func (s Selector) Matches(rel *ferryv1.Release) bool {
	got, ok := SelectorOf(rel)
	return ok && got == s
}

// Namespace returns the namespace a preview of the application deploys into, the same
// in every target cluster: "" for a Release of flow release (it deploys into its
// stage's namespace), APP-pr-N for a pull request, APP-BRANCH for a branch.
func Namespace(app string, rel *ferryv1.Release) string {
	sel, ok := SelectorOf(rel)
	if !ok {
		return ""
	}
	return sel.Namespace(app)
}

// Namespace returns the namespace of the selected preview of the application, a DNS
// label: lowercase letters, digits and '-', every other character (a slash, a dot, an
// underscore...) written as '-', runs of '-' made one and none at either end. A name
// longer than 63 characters is cut and ends in a hash of the application and branch,
// so that two long branches never share a namespace. A branch with nothing left after
// that, or one that would read as a pull request's (pr-7), is named by its hash too:
// a branch must never name the application's own namespace or a pull request's.
//
// Branches that differ only in case or in the characters written as '-' (feature/x,
// feature-x) share a namespace; the preview of each is removed only once no Release
// of either needs it.
func (s Selector) Namespace(app string) string {
	if s.Flow() == ferryv1.FlowPR {
		full := fmt.Sprintf("%s-pr-%d", app, s.PullRequest)
		return fit(label(full), full)
	}
	key := app + "/" + s.Branch
	b := label(s.Branch)
	if b == "" || looksLikePR(b) {
		b = strings.Trim(b+"-"+shortHash(s.Branch), "-")
	}
	return fit(label(app)+"-"+b, key)
}

// looksLikePR reports whether a label reads as pr-N, the suffix of a pull request's
// namespace.
func looksLikePR(s string) bool {
	n, ok := strings.CutPrefix(s, "pr-")
	if !ok || n == "" {
		return false
	}
	for _, r := range n {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// label writes s as a DNS label, without the length limit: lowercase letters and
// digits kept, every other run of characters one '-', none at either end.
func label(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// fit cuts a label longer than 63 characters, ending it in a hash of key (the text it
// was made from) so that different keys keep different names.
func fit(name, key string) string {
	if len(name) <= maxLabel {
		return name
	}
	return strings.TrimRight(name[:maxLabel-hashLen-1], "-") + "-" + shortHash(key)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashLen]
}

// Host returns a preview's host name under one of its cluster's hosts (ingress
// domains): the namespace becomes a new first label, NS.BASE, so that the preview
// web-pr-7 under apps.example.com is web-pr-7.apps.example.com. The namespace is a DNS
// label, so the result is a host name whenever the base is one. With no namespace (a
// Release of flow release) the base is returned unchanged; with no base, "".
func Host(base, ns string) string {
	base = strings.TrimSuffix(base, ".")
	if base == "" || ns == "" {
		return base
	}
	return ns + "." + base
}

// Hosts returns Host of each of a cluster's hosts, in order.
func Hosts(bases []string, ns string) []string {
	if bases == nil {
		return nil
	}
	out := make([]string, len(bases))
	for i, b := range bases {
		out[i] = Host(b, ns)
	}
	return out
}

// NamespaceLabels are the labels a preview namespace is created with; only a namespace
// carrying them is deleted by Delete and Cleanup.
func NamespaceLabels(app string) map[string]string {
	return map[string]string{LabelPreview: "true", ferryv1.LabelApplication: app}
}

// Owned reports whether the namespace was made for a preview of the application. A
// deployment of a preview must not go into an existing namespace that is not owned:
// it would take over, and later delete, a namespace that is not the preview's.
func Owned(ns *corev1.Namespace, app string) bool {
	l := ns.GetLabels()
	return l[LabelPreview] == "true" && l[ferryv1.LabelApplication] == app
}

// TTL returns how long a preview of the application lives after its Release was
// made: deploy.previewTTL, or DefaultTTL.
func TTL(app *appfile.App) time.Duration {
	if app == nil || app.Deploy.PreviewTTL == "" {
		return DefaultTTL
	}
	d, err := appfile.ParseDuration(string(app.Deploy.PreviewTTL))
	if err != nil || d <= 0 { // a loaded file was validated; this is defence only
		return DefaultTTL
	}
	return d
}

// TTLOf reads the time to live from the app file the Release was made with. An app
// file that no longer loads gives DefaultTTL and the error, so that the preview still
// expires.
func TTLOf(rel *ferryv1.Release) (time.Duration, error) {
	f, err := appfile.LoadBytes("release "+rel.Name, []byte(rel.Spec.AppFile), "", appfile.Options{})
	if err != nil {
		return DefaultTTL, err
	}
	return TTL(f.App), nil
}

// Expired reports whether a preview Release has outlived its time to live at now. A
// Release of flow release never expires, nor does one not yet created (no creation
// time) or a non-positive ttl.
func Expired(rel *ferryv1.Release, ttl time.Duration, now time.Time) bool {
	if _, ok := SelectorOf(rel); !ok || ttl <= 0 || rel.CreationTimestamp.IsZero() {
		return false
	}
	return !now.Before(rel.CreationTimestamp.Add(ttl))
}
