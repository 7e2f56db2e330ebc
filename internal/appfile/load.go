package appfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/go-git/go-billy/v5"
	yaml "go.yaml.in/yaml/v3"
)

// Names the app file may have, in the order they are looked for.
var fileNames = []string{"ferry.yml", "ferry.yaml", "kitt.yml", "kitt.yaml"}

// Options are the operator's settings for loading app files.
type Options struct {
	// GitBase is the base URL under which git://ORG:REPO:BRANCH:NAME profiles live
	// (https://git.example.com, file:///srv/profiles or a plain directory).
	GitBase string
}

// File is a loaded app file: its profiles merged under it, before templates.
type File struct {
	// Path is the file as it was named.
	Path string
	// Tree is the merged tree; every node knows the file or profile it came from.
	Tree *Node
	// App is the decoded file, with templates filled by placeholders.
	App *App
}

type loader struct {
	opts   Options
	clones map[string]billy.Filesystem
}

// Find returns the app file in dir (ferry.yml first, then kitt.yml), or path itself when
// it names a file.
func Find(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return path, nil
	}
	for _, name := range fileNames {
		p := filepath.Join(path, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no app file in %s (expected one of: %s)", path, strings.Join(fileNames, ", "))
}

// Load reads, merges and checks the app file at path (a file or a directory).
func Load(path string, opts Options) (*File, error) {
	file, err := Find(path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	return LoadBytes(file, data, filepath.Dir(abs), opts)
}

// LoadFrom loads from a file or directory, or from in when path is "-".
func LoadFrom(path string, in io.Reader, opts Options) (*File, error) {
	if path != "-" {
		return Load(path, opts)
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return LoadBytes("<stdin>", data, wd, opts)
}

// LoadBytes is Load for a file already read; dir is where its local profiles are.
func LoadBytes(name string, data []byte, dir string, opts Options) (*File, error) {
	l := &loader{opts: opts, clones: map[string]billy.Filesystem{}}
	tree, err := Parse(name, data)
	if err != nil {
		return nil, err
	}
	p := &problems{}
	merged := l.withProfiles(tree, dir, nil, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	f := &File{Path: name, Tree: merged}
	app, err := f.Resolve(TemplateContext{Version: "0.0.0", TestsImage: "tests-image", anyHost: true})
	if err != nil {
		return nil, err
	}
	f.App = app
	return f, nil
}

// withProfiles returns tree with its profiles merged under it. stack holds the profiles
// being loaded, to catch cycles.
func (l *loader) withProfiles(tree *Node, dir string, stack []string, p *problems) *Node {
	refsNode := tree.Get("profiles")
	if refsNode == nil || refsNode.Null {
		return tree
	}
	if refsNode.Kind != ListNode {
		p.add(refsNode.Source, "profiles", "expected a list of profile names, got %s", describe(refsNode))
		return tree
	}
	var base *Node
	// Later profiles lie underneath earlier ones: merge from the last one up.
	for i := len(refsNode.Items) - 1; i >= 0; i-- {
		item := refsNode.Items[i]
		path := fmt.Sprintf("profiles[%d]", i)
		if item.Kind != ScalarNode || item.Scalar == "" {
			p.add(item.Source, path, "expected a profile name, a ./path or git://ORG:REPO:BRANCH:NAME")
			continue
		}
		ref := item.Scalar
		if cycle := indexOf(stack, ref); cycle >= 0 {
			p.add(item.Source, path, "profile cycle: %s -> %s", strings.Join(stack[cycle:], " -> "), ref)
			continue
		}
		prof, err := l.fetchProfile(ref, dir)
		if err != nil {
			p.add(item.Source, path, "%s", err.Error())
			continue
		}
		layer, err := Parse(prof.name, prof.data)
		if err != nil {
			p.list = append(p.list, Problems(err)...)
			continue
		}
		layer = l.withProfiles(layer, prof.dir, append(stack, ref), p)
		layer.Delete("profiles")
		base = Merge(base, layer)
	}
	return Merge(base, tree)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Resolve fills the templates from ctx, decodes the file and checks every field. The
// context's artifact and namespace default to the file's own.
func (f *File) Resolve(ctx TemplateContext) (*App, error) {
	if ctx.Artifact == "" {
		ctx.Artifact = scalarAt(f.Tree, "build", "artifact")
	}
	if ctx.Namespace == "" {
		ctx.Namespace = scalarAt(f.Tree, "deploy", "namespace")
	}
	tree, err := Expand(f.Tree, ctx)
	if err != nil {
		return nil, err
	}
	p := &problems{}
	d := &decoder{p: p, pos: map[string]Source{}, chartValues: scalarAt(tree, "deploy", "helm", "chart") != ""}
	app := &App{}
	d.decode(tree, "", reflect.ValueOf(app).Elem())
	stagesPath, stagesNode := "deploy.stages", tree.Get("deploy").Get("stages")
	if len(app.Stages) > 0 {
		stagesPath, stagesNode = "stages", tree.Get("stages")
	}
	values, stageProblems := stageValues(tree, stagesPath, stagesNode, d)
	// Check meaning even when some values did not decode, so every problem is reported
	// at once, but drop what follows from a value already reported as unreadable.
	vp := &problems{}
	v := &validator{p: vp, pos: d.pos}
	v.app(app, stagesPath, values)
	for _, prob := range vp.list {
		if !overlapsAny(prob.Path, p.list) && !overlapsAny(prob.Path, stageProblems) {
			p.list = append(p.list, prob)
		}
	}
	if err := p.err(); err != nil {
		return nil, dedupe(err)
	}
	app.stageValues = values
	app.stagePlain = stagePlain(tree, stagesNode)
	return app, nil
}

// stageValues decodes each stage's effective values: its own helm.values merged over
// the shared deploy.helm.values. It returns the values that did not decode, so checks
// of their meaning are skipped.
func stageValues(tree *Node, stagesPath string, stages *Node, d *decoder) ([]Values, ProblemList) {
	if stages == nil || stages.Kind != ListNode {
		return nil, nil
	}
	var failed ProblemList
	shared := tree.Get("deploy").Get("helm").Get("values")
	out := make([]Values, len(stages.Items))
	for i, s := range stages.Items {
		eff := Merge(shared, s.Get("helm").Get("values"))
		if eff == nil {
			continue
		}
		// Problems in these values were reported when the file itself was decoded; the
		// positions recorded here are where each effective value was written.
		sub := &decoder{p: &problems{}, pos: map[string]Source{}, chartValues: d.chartValues}
		sub.decode(eff, fmt.Sprintf("%s[%d].helm.values", stagesPath, i), reflect.ValueOf(&out[i]).Elem())
		for k, v := range sub.pos {
			d.pos[k] = v
		}
		failed = append(failed, sub.p.list...)
	}
	return out, failed
}

// overlapsAny reports whether path is inside the path of a problem.
func overlapsAny(path string, list ProblemList) bool {
	for _, q := range list {
		if q.Path == "" {
			continue
		}
		if within(path, q.Path) {
			return true
		}
	}
	return false
}

func within(path, parent string) bool {
	return path == parent || strings.HasPrefix(path, parent+".") || strings.HasPrefix(path, parent+"[")
}

// stagePlain returns each stage's effective values as plain values.
func stagePlain(tree, stages *Node) []map[string]any {
	if stages == nil || stages.Kind != ListNode {
		return nil
	}
	shared := tree.Get("deploy").Get("helm").Get("values")
	out := make([]map[string]any, len(stages.Items))
	for i, s := range stages.Items {
		m, _ := Merge(shared, s.Get("helm").Get("values")).Plain().(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		out[i] = m
	}
	return out
}

// dedupe drops a problem reported twice at the same place (shared values checked once
// on their own and again inside each stage).
func dedupe(err error) error {
	seen := map[string]bool{}
	var out ProblemList
	for _, p := range Problems(err) {
		key := p.Source.String() + "|" + p.Msg
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, p)
	}
	return &out
}

func scalarAt(n *Node, keys ...string) string {
	for _, k := range keys {
		n = n.Get(k)
	}
	if n == nil || n.Kind != ScalarNode || strings.Contains(n.Scalar, "{{") {
		return ""
	}
	return n.Scalar
}

// AllStages returns the stages, from deploy.stages or the root stages list.
func (a *App) AllStages() []Stage {
	if len(a.Deploy.Stages) > 0 {
		return a.Deploy.Stages
	}
	return a.Stages
}

// PlainValues returns a stage's effective values as plain values, as a chart takes them.
func (a *App) PlainValues(stage string) map[string]any {
	for i, s := range a.AllStages() {
		if s.Name == stage && i < len(a.stagePlain) {
			return a.stagePlain[i]
		}
	}
	return map[string]any{}
}

// Stage returns the stage with the given name and its effective values.
func (a *App) Stage(name string) (Stage, Values, error) {
	var names []string
	for i, s := range a.AllStages() {
		if s.Name == name {
			var v Values
			if i < len(a.stageValues) {
				v = a.stageValues[i]
			}
			return s, v, nil
		}
		names = append(names, s.Name)
	}
	return Stage{}, Values{}, errors.New("no stage " + fmt.Sprintf("%q", name) + " (stages: " + strings.Join(names, ", ") + ")")
}

// ForStage returns a copy of the app as the named stage sees it: with the stage's
// namespace, when it names one, in place of deploy.namespace.
func (a *App) ForStage(name string) *App {
	s, _, err := a.Stage(name)
	if err != nil || s.Namespace == "" {
		return a
	}
	cp := *a
	cp.Deploy.Namespace = s.Namespace
	return &cp
}

// Merged returns the file with its profiles merged in, as YAML: what an Application
// stores, so that it no longer depends on where the profiles came from.
func (f *File) Merged() ([]byte, error) {
	tree := *f.Tree
	cp := &tree
	cp.Keys = append([]string(nil), tree.Keys...)
	cp.KeySources = append([]Source(nil), tree.KeySources...)
	cp.Values = append([]*Node(nil), tree.Values...)
	cp.Delete("profiles")
	return yaml.Marshal(cp.Plain())
}

// ChangeRecordFor reports whether deployments to the stage open a change record: the
// stage's createChangeRecord, else the deploy section's.
func (a *App) ChangeRecordFor(stage string) bool {
	if s, _, err := a.Stage(stage); err == nil && s.CreateChangeRecord != nil {
		return *s.CreateChangeRecord
	}
	return a.Deploy.CreateChangeRecord != nil && *a.Deploy.CreateChangeRecord
}

// ReleaseTypeFor is the release strategy of the named stage: the stage's own
// releaseType when it names a strategy, else deploy.releaseType. The deploy timeout is
// taken separately (a stage may set only that).
func (a *App) ReleaseTypeFor(stage string) ReleaseType {
	rt := a.Deploy.ReleaseType
	if s, _, err := a.Stage(stage); err == nil && s.ReleaseType != nil && s.ReleaseType.Strategy != "" {
		rt = *s.ReleaseType
	}
	if rt.Strategy == "" {
		rt.Strategy = StrategyRolling
	}
	return rt
}
