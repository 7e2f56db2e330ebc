// Package traffic writes the Gateway API HTTPRoute (gateway.networking.k8s.io/v1)
// through which a target cluster's Gateway sends an application's requests: one rule
// to the application's Service in the steady state, backend weights during a canary,
// and a rule for the requests a header or cookie marks during an A/B test. It builds
// objects only; the render package and the promotion controller apply them.
package traffic

import (
	"fmt"
	"regexp"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// APIVersion and Kind of the route.
const (
	APIVersion = "gateway.networking.k8s.io/v1"
	Kind       = "HTTPRoute"
)

// Gateway is the parent the route attaches to.
type Gateway struct {
	Namespace, Name string
	// SectionName picks one listener; empty attaches to all.
	SectionName string
}

// Backend is a Service the route sends requests to, with its share.
type Backend struct {
	Service string
	Port    int32
	Weight  int32
}

// Match is what marks a request in an A/B test: a header, a cookie, or either.
type Match struct {
	Header, Cookie string
	// Value is what the header or cookie must hold; empty means any value.
	Value string
}

// String says what marks a request, as people read it in the status.
func (m Match) String() string {
	v := "any value"
	if m.Value != "" {
		v = fmt.Sprintf("%q", m.Value)
	}
	switch {
	case m.Header != "" && m.Cookie != "":
		return fmt.Sprintf("header %s or cookie %s with %s", m.Header, m.Cookie, v)
	case m.Header != "":
		return fmt.Sprintf("header %s with %s", m.Header, v)
	default:
		return fmt.Sprintf("cookie %s with %s", m.Cookie, v)
	}
}

// Route is an HTTPRoute's content.
type Route struct {
	Name, Namespace string
	Labels          map[string]string
	Gateway         Gateway
	// Hostnames the route answers; none answers every host of the listener.
	Hostnames []string
	// Backends take the requests no match marks.
	Backends []Backend
	// Match and Marked, when set, send the marked requests to Marked instead.
	Match  *Match
	Marked []Backend
}

// Object is the route as an object to apply.
func (r Route) Object() *unstructured.Unstructured {
	parent := map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": r.Gateway.Namespace, "name": r.Gateway.Name}
	if r.Gateway.SectionName != "" {
		parent["sectionName"] = r.Gateway.SectionName
	}
	spec := map[string]any{"parentRefs": []any{parent}, "rules": Rules(r.Backends, r.Match, r.Marked)}
	if len(r.Hostnames) > 0 {
		hosts := make([]any, len(r.Hostnames))
		for i, h := range r.Hostnames {
			hosts[i] = h
		}
		spec["hostnames"] = hosts
	}
	meta := map[string]any{"name": r.Name, "namespace": r.Namespace}
	if len(r.Labels) > 0 {
		labels := map[string]any{}
		for k, v := range r.Labels {
			labels[k] = v
		}
		meta["labels"] = labels
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": APIVersion, "kind": Kind, "metadata": meta, "spec": spec}}
}

// Rules are a route's rules: the marked requests first (a rule with header matches
// takes precedence over one with a path only, as the Gateway API orders them), then
// every request.
func Rules(backends []Backend, m *Match, marked []Backend) []any {
	var rules []any
	if m != nil {
		rules = append(rules, map[string]any{"matches": matches(*m), "backendRefs": refs(marked)})
	}
	all := map[string]any{"type": "PathPrefix", "value": "/"}
	return append(rules, map[string]any{"matches": []any{map[string]any{"path": all}}, "backendRefs": refs(backends)})
}

// WithRules is a copy of a rendered route with other rules.
func WithRules(route *unstructured.Unstructured, rules []any) (*unstructured.Unstructured, error) {
	cp := route.DeepCopy()
	if err := unstructured.SetNestedSlice(cp.Object, rules, "spec", "rules"); err != nil {
		return nil, fmt.Errorf("setting the rules of HTTPRoute %s: %w", route.GetName(), err)
	}
	return cp, nil
}

func refs(bs []Backend) []any {
	out := make([]any, 0, len(bs))
	for _, b := range bs {
		out = append(out, map[string]any{"kind": "Service", "name": b.Service, "port": int64(b.Port), "weight": int64(b.Weight)})
	}
	return out
}

// matches are the alternatives that mark a request; each also matches every path.
func matches(m Match) []any {
	all := map[string]any{"type": "PathPrefix", "value": "/"}
	var out []any
	if m.Header != "" {
		h := map[string]any{"name": m.Header, "type": "RegularExpression", "value": ".+"}
		if m.Value != "" {
			h = map[string]any{"name": m.Header, "type": "Exact", "value": m.Value}
		}
		out = append(out, map[string]any{"path": all, "headers": []any{h}})
	}
	if m.Cookie != "" {
		out = append(out, map[string]any{"path": all, "headers": []any{
			map[string]any{"name": "Cookie", "type": "RegularExpression", "value": CookiePattern(m.Cookie, m.Value)},
		}})
	}
	return out
}

// CookiePattern matches a Cookie header that holds the cookie (with the value, when
// one is given) among the others.
func CookiePattern(name, value string) string {
	v := "[^;]+"
	if value != "" {
		v = regexp.QuoteMeta(value)
	}
	return `(^|;\s*)` + regexp.QuoteMeta(name) + "=" + v + `(;|$)`
}
