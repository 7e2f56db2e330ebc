// Package imagewatch polls container registries for the ImageWatch objects: one poller
// per repository (and set of credentials), shared by every watch that follows it, which
// learns a tag's digest with one HEAD request on its manifest and lists the tags only
// when a semantic-version range or a regular expression needs them. Requests to one
// registry share a rate limit; a 429 waits for its Retry-After, and errors (5xx,
// timeouts, refused connections) back off exponentially with jitter. The controller
// subscribes watches and reads their results; this package never writes objects.
package imagewatch

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/Masterminds/semver/v3"
)

// Want is what one watch follows in a repository: exactly one of its fields is set.
type Want struct {
	// Tag is followed by its digest.
	Tag string
	// Range takes the highest tag that is a version inside it.
	Range *semver.Constraints
	// Regex takes the highest matching tag.
	Regex *regexp.Regexp
	// Source is the range or expression as written, which tells two wants apart.
	Source string
}

// ParseWant reads an ImageWatch's tag, semver or tagRegex (exactly one non-empty).
func ParseWant(tag, rng, re string) (Want, error) {
	switch {
	case tag != "":
		return Want{Tag: tag, Source: "tag " + tag}, nil
	case rng != "":
		c, err := semver.NewConstraint(rng)
		if err != nil {
			return Want{}, fmt.Errorf("semver %q: %w", rng, err)
		}
		return Want{Range: c, Source: "semver " + rng}, nil
	case re != "":
		r, err := regexp.Compile(re)
		if err != nil {
			return Want{}, fmt.Errorf("tagRegex %q: %w", re, err)
		}
		return Want{Regex: r, Source: "tagRegex " + re}, nil
	}
	return Want{}, fmt.Errorf("no tag, semver or tagRegex to follow")
}

// needsTags says whether the want picks among the repository's tags.
func (w Want) needsTags() bool { return w.Tag == "" }

// Select picks the want's tag among the repository's tags; false when none fits. Tags
// that are versions compare as versions (1.10.0 above 1.9.0); a regular expression over
// tags that are not versions takes the last in lexical order.
func Select(tags []string, w Want) (string, bool) {
	sorted := append([]string(nil), tags...)
	sort.Strings(sorted)
	var best string
	var bestV *semver.Version
	for _, t := range sorted {
		v, verr := semver.NewVersion(t)
		switch {
		case w.Range != nil:
			if verr != nil || !w.Range.Check(v) {
				continue
			}
		case w.Regex != nil:
			if !w.Regex.MatchString(t) {
				continue
			}
		default:
			return w.Tag, true
		}
		if higher(t, v, best, bestV) {
			best, bestV = t, v
		}
	}
	return best, best != ""
}

// higher says whether tag t (version v, nil when it is none) sorts above the best so
// far: versions above non-versions, versions by precedence, the rest lexically.
func higher(t string, v *semver.Version, best string, bestV *semver.Version) bool {
	switch {
	case best == "":
		return true
	case v != nil && bestV != nil:
		return v.Compare(bestV) > 0 // 1.2.0 and v1.2.0: the first in lexical order stays
	case v != nil || bestV != nil:
		return v != nil
	}
	return t > best
}
