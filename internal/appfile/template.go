package appfile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// TemplateContext holds the values templates inside the file may use.
type TemplateContext struct {
	Version    string   // $.kitt.build.version
	Artifact   string   // $.kitt.build.artifact
	Namespace  string   // $.kitt.deploy.namespace
	TestsImage string   // $.kitt.build.docker.tests.image
	Hosts      []string // $.kittExec.currentCluster.hosts[N]
	// anyHost makes every hosts[N] resolve, for checking a file without a cluster.
	anyHost bool
}

// templatePaths lists the values templates may name (under $.kitt or $.ferry).
var templatePaths = []string{
	"$.kitt.build.version", "$.kitt.build.artifact", "$.kitt.deploy.namespace",
	"$.kitt.build.docker.tests.image", "$.kittExec.currentCluster.hosts[N]",
}

var (
	templateRe = regexp.MustCompile(`\{\{-?\s*(.*?)\s*-?\}\}`)
	hostsRe    = regexp.MustCompile(`^\$\.(?:kitt|ferry)Exec\.currentCluster\.hosts\[(\d+)\]$`)
)

// lookup resolves one template expression.
func (c TemplateContext) lookup(expr string) (string, error) {
	switch expr {
	case "$.kitt.build.version", "$.ferry.build.version":
		return c.Version, nil
	case "$.kitt.build.artifact", "$.ferry.build.artifact":
		return c.Artifact, nil
	case "$.kitt.deploy.namespace", "$.ferry.deploy.namespace":
		return c.Namespace, nil
	case "$.kitt.build.docker.tests.image", "$.ferry.build.docker.tests.image":
		return c.TestsImage, nil
	}
	if m := hostsRe.FindStringSubmatch(expr); m != nil {
		i, _ := strconv.Atoi(m[1])
		if c.anyHost {
			return fmt.Sprintf("host%d.cluster.invalid", i), nil
		}
		if i >= len(c.Hosts) {
			return "", fmt.Errorf("template %q: the cluster has %d hosts", expr, len(c.Hosts))
		}
		return c.Hosts[i], nil
	}
	return "", fmt.Errorf("unknown template value %q (expected one of: %s, or the same under $.ferry)", expr, strings.Join(templatePaths, ", "))
}

// Expand returns a copy of the tree with every template in its scalars replaced,
// reporting each unknown template with its position.
func Expand(n *Node, ctx TemplateContext) (*Node, error) {
	p := &problems{}
	out := expand(n, "", ctx, p)
	return out, p.err()
}

func expand(n *Node, path string, ctx TemplateContext, p *problems) *Node {
	switch n.Kind {
	case MapNode:
		out := &Node{Kind: MapNode, Source: n.Source}
		for i, k := range n.Keys {
			out.Set(k, n.KeySources[i], expand(n.Values[i], joinPath(path, k), ctx, p))
		}
		return out
	case ListNode:
		out := &Node{Kind: ListNode, Source: n.Source}
		for i, item := range n.Items {
			out.Items = append(out.Items, expand(item, fmt.Sprintf("%s[%d]", path, i), ctx, p))
		}
		return out
	}
	if !strings.Contains(n.Scalar, "{{") {
		return n
	}
	text := templateRe.ReplaceAllStringFunc(n.Scalar, func(m string) string {
		expr := templateRe.FindStringSubmatch(m)[1]
		v, err := ctx.lookup(expr)
		if err != nil {
			p.add(n.Source, path, "%s", err.Error())
			return m
		}
		return v
	})
	cp := *n
	cp.Scalar = text
	return &cp
}
