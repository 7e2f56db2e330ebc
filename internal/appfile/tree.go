package appfile

import (
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Source is where a value was written: a file (or profile) and a position in it.
type Source struct {
	File string
	Line int
	Col  int
}

func (s Source) String() string {
	if s.Line == 0 {
		return s.File
	}
	return fmt.Sprintf("%s:%d:%d", s.File, s.Line, s.Col)
}

// Kind is the shape of a Node.
type Kind int

// The shapes a Node can have.
const (
	ScalarNode Kind = iota
	MapNode
	ListNode
)

// Node is a YAML value with its source, after anchors and aliases are resolved. Map keys
// keep their order of appearance.
type Node struct {
	Kind   Kind
	Source Source
	// Scalar is the text of a scalar as written (quoted or not), Null whether it was null,
	// Tag the type YAML gives it (!!str, !!int, !!bool, !!float).
	Scalar string
	Null   bool
	Tag    string
	// Keys and Values of a map, in order; KeySources are the keys' positions.
	Keys       []string
	KeySources []Source
	Values     []*Node
	// Items of a list.
	Items []*Node
}

// Get returns the value of a map key, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != MapNode {
		return nil
	}
	for i, k := range n.Keys {
		if k == key {
			return n.Values[i]
		}
	}
	return nil
}

// Set replaces or appends a map entry.
func (n *Node) Set(key string, src Source, v *Node) {
	for i, k := range n.Keys {
		if k == key {
			n.Values[i] = v
			return
		}
	}
	n.Keys = append(n.Keys, key)
	n.KeySources = append(n.KeySources, src)
	n.Values = append(n.Values, v)
}

// Delete removes a map entry.
func (n *Node) Delete(key string) {
	for i, k := range n.Keys {
		if k == key {
			n.Keys = append(n.Keys[:i:i], n.Keys[i+1:]...)
			n.KeySources = append(n.KeySources[:i:i], n.KeySources[i+1:]...)
			n.Values = append(n.Values[:i:i], n.Values[i+1:]...)
			return
		}
	}
}

// Parse reads one YAML document into a Node tree. An empty document is an empty map.
func Parse(file string, data []byte) (*Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &Node{Kind: MapNode, Source: Source{File: file, Line: 1, Col: 1}}, nil
	}
	p := &problems{}
	n := convert(file, doc.Content[0], p, 0)
	if err := p.err(); err != nil {
		return nil, err
	}
	if n.Kind != MapNode {
		return nil, &ProblemList{{Source: n.Source, Path: "", Msg: "the file must be a map of fields (expected `owner:`, `deploy:` ...)"}}
	}
	return n, nil
}

// maxDepth bounds nesting so that a hostile file cannot exhaust the stack.
const maxDepth = 100

func convert(file string, y *yaml.Node, p *problems, depth int) *Node {
	src := Source{File: file, Line: y.Line, Col: y.Column}
	if depth > maxDepth {
		p.add(src, "", "nesting deeper than %d levels", maxDepth)
		return &Node{Kind: ScalarNode, Source: src, Null: true}
	}
	switch y.Kind {
	case yaml.AliasNode:
		if y.Alias == nil {
			return &Node{Kind: ScalarNode, Source: src, Null: true}
		}
		return convert(file, y.Alias, p, depth+1)
	case yaml.MappingNode:
		n := &Node{Kind: MapNode, Source: src}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			ksrc := Source{File: file, Line: k.Line, Col: k.Column}
			if k.Kind != yaml.ScalarNode {
				p.add(ksrc, "", "a map key must be a plain name")
				continue
			}
			if k.Tag == "!!merge" {
				mergeAnchor(n, convert(file, v, p, depth+1))
				continue
			}
			if n.Get(k.Value) != nil {
				p.add(ksrc, "", "key %q appears twice in the same map", k.Value)
				continue
			}
			n.Set(k.Value, ksrc, convert(file, v, p, depth+1))
		}
		return n
	case yaml.SequenceNode:
		n := &Node{Kind: ListNode, Source: src}
		for _, item := range y.Content {
			n.Items = append(n.Items, convert(file, item, p, depth+1))
		}
		return n
	default:
		return &Node{Kind: ScalarNode, Source: src, Scalar: y.Value, Null: y.Tag == "!!null", Tag: y.ShortTag()}
	}
}

// mergeAnchor applies a YAML merge key (<<: *base): keys already present win.
func mergeAnchor(into, from *Node) {
	maps := []*Node{from}
	if from.Kind == ListNode {
		maps = from.Items
	}
	for _, m := range maps {
		if m.Kind != MapNode {
			continue
		}
		for i, k := range m.Keys {
			if into.Get(k) == nil {
				into.Set(k, m.KeySources[i], m.Values[i])
			}
		}
	}
}

// Merge overlays top on base: maps merge key by key, deeply; anything else in top
// (scalars, lists, null) replaces what base had. Neither input is modified.
func Merge(base, top *Node) *Node {
	if base == nil {
		return top
	}
	if top == nil {
		return base
	}
	if base.Kind != MapNode || top.Kind != MapNode {
		return top
	}
	// Keys keep the order of the top layer (the file reads as written), then the keys
	// only the lower layer has.
	out := &Node{Kind: MapNode, Source: top.Source}
	for i, k := range top.Keys {
		if prev := base.Get(k); prev != nil {
			out.Set(k, top.KeySources[i], Merge(prev, top.Values[i]))
			continue
		}
		out.Set(k, top.KeySources[i], top.Values[i])
	}
	for i, k := range base.Keys {
		if out.Get(k) == nil {
			out.Set(k, base.KeySources[i], base.Values[i])
		}
	}
	return out
}

// Leaf is one effective scalar value with its path and source, for --explain.
type Leaf struct {
	Path   string
	Value  string
	Source Source
}

// Leaves lists every scalar in the tree in the order of the file (an empty list or map
// counts as one value).
func (n *Node) Leaves() []Leaf {
	var out []Leaf
	var walk func(path string, n *Node)
	walk = func(path string, n *Node) {
		switch n.Kind {
		case MapNode:
			if len(n.Keys) == 0 {
				out = append(out, Leaf{Path: path, Value: "{}", Source: n.Source})
			}
			for i, k := range n.Keys {
				walk(joinPath(path, k), n.Values[i])
			}
		case ListNode:
			if len(n.Items) == 0 {
				out = append(out, Leaf{Path: path, Value: "[]", Source: n.Source})
			}
			for i, item := range n.Items {
				walk(fmt.Sprintf("%s[%d]", path, i), item)
			}
		default:
			v := n.Scalar
			if n.Null {
				v = "null"
			}
			out = append(out, Leaf{Path: path, Value: v, Source: n.Source})
		}
	}
	walk("", n)
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	if strings.ContainsAny(key, ".[] ") {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	return path + "." + key
}

// Plain returns the tree as plain Go values (maps, slices, strings, numbers, booleans),
// typed as YAML reads them, for handing values to a Helm chart.
func (n *Node) Plain() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case MapNode:
		m := make(map[string]any, len(n.Keys))
		for i, k := range n.Keys {
			m[k] = n.Values[i].Plain()
		}
		return m
	case ListNode:
		l := make([]any, len(n.Items))
		for i, item := range n.Items {
			l[i] = item.Plain()
		}
		return l
	}
	if n.Null {
		return nil
	}
	var v any
	if n.Tag == "!!int" || n.Tag == "!!float" || n.Tag == "!!bool" {
		if err := yaml.Unmarshal([]byte(n.Scalar), &v); err == nil {
			return v
		}
	}
	return n.Scalar
}
