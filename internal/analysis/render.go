package analysis

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// DefaultInterval is the query window when neither Vars nor the template sets one (a
// template read from a file has not been defaulted by the API server).
const DefaultInterval = time.Minute

// Vars are the values of the placeholders in SLI queries.
type Vars struct {
	// App is $app: the application's name.
	App string
	// Namespace is $namespace: the namespace the application runs in.
	Namespace string
	// Stage is $stage: the stage being analysed.
	Stage string
	// Version is $version: the version being analysed.
	Version string
	// Interval is $interval, written as a Prometheus duration (1m, 1m30s). Zero means the
	// template's spec.interval, else DefaultInterval.
	Interval time.Duration
	// CanarySelector is $canarySelector: label matchers of the canary's pods, without
	// braces (pod=~"shop-canary-.*").
	CanarySelector string
	// BaselineSelector is $baselineSelector: label matchers of the baseline's pods.
	BaselineSelector string
}

// values maps each placeholder name to its value; an empty value is not set.
func (v Vars) values() map[string]string {
	return map[string]string{
		"app":              v.App,
		"namespace":        v.Namespace,
		"stage":            v.Stage,
		"version":          v.Version,
		"interval":         model.Duration(v.Interval).String(),
		"canarySelector":   v.CanarySelector,
		"baselineSelector": v.BaselineSelector,
	}
}

// Render fills in the placeholders of every SLI query of tpl ($name or ${name}, $$ for a
// dollar sign; a $ not followed by a name, such as a regular expression's anchor, stays as
// written). A placeholder that names no variable, or a variable that is not set, is an
// error naming the SLI; all such errors are returned together, in SLI name order.
func Render(tpl *ferryv1.AnalysisTemplate, vars Vars) (map[string]string, error) {
	if vars.Interval == 0 {
		vars.Interval = Interval(tpl)
	}
	values := vars.values()
	out := make(map[string]string, len(tpl.Spec.SLIs))
	var errs []error
	for _, name := range sortedKeys(tpl.Spec.SLIs) {
		q, err := expand(tpl.Spec.SLIs[name], values)
		if err != nil {
			errs = append(errs, fmt.Errorf("SLI %q: %w", name, err))
			continue
		}
		out[name] = q
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Interval is the template's window and measuring interval: spec.interval, else
// DefaultInterval.
func Interval(tpl *ferryv1.AnalysisTemplate) time.Duration {
	if tpl.Spec.Interval != nil && tpl.Spec.Interval.Duration > 0 {
		return tpl.Spec.Interval.Duration
	}
	return DefaultInterval
}

// expand replaces the placeholders of one query.
func expand(query string, values map[string]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(query); {
		if query[i] != '$' {
			b.WriteByte(query[i])
			i++
			continue
		}
		rest := query[i+1:]
		var name string
		switch {
		case strings.HasPrefix(rest, "$"):
			b.WriteByte('$')
			i += 2
			continue
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return "", fmt.Errorf("unclosed ${ at byte %d", i)
			}
			name = rest[1:end]
			if name == "" || nameLen(name) != len(name) {
				return "", fmt.Errorf("${%s} at byte %d is not a variable name", name, i)
			}
			i += end + 2
		default:
			n := nameLen(rest)
			if n == 0 {
				b.WriteByte('$') // not a placeholder: keep it
				i++
				continue
			}
			name = rest[:n]
			i += n + 1
		}
		v, ok := values[name]
		switch {
		case !ok:
			return "", fmt.Errorf("unknown variable $%s (known: %s)", name, strings.Join(sortedKeys(values), ", "))
		case v == "":
			return "", fmt.Errorf("the query uses $%s, which is not set", name)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// nameLen is the length of the identifier s starts with: a letter or _ then letters,
// digits and _.
func nameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return i
		}
	}
	return len(s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
