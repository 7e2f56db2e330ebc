package appfile

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with an app file.
type Problem struct {
	Source Source
	Path   string // field path, for example deploy.stages[1].flows
	Msg    string // what is wrong, with what was expected
}

func (p Problem) String() string {
	if p.Path == "" {
		return fmt.Sprintf("%s: %s", p.Source, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", p.Source, p.Path, p.Msg)
}

// ProblemList is every problem found, sorted by file and position; it is the error
// Load returns for an invalid file.
type ProblemList []Problem

func (l ProblemList) Error() string {
	lines := make([]string, len(l))
	for i, p := range l {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Problems extracts the problem list from an error returned by this package.
func Problems(err error) ProblemList {
	var l *ProblemList
	if errors.As(err, &l) {
		return *l
	}
	return nil
}

// problems collects problems during a pass.
type problems struct{ list ProblemList }

func (p *problems) add(src Source, path, format string, args ...any) {
	p.list = append(p.list, Problem{Source: src, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// err returns the sorted problems as an error, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	l := append(ProblemList(nil), p.list...)
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Source, l[j].Source
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return &l
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a YAML syntax error into a problem with the file's name and line.
func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ProblemList{{Source: Source{File: file, Line: line, Col: 1}, Msg: "not valid YAML: " + m[2]}}
	}
	return &ProblemList{{Source: Source{File: file}, Msg: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")}}
}

// suggest returns the candidate closest to word, if it is close enough to be a typo.
func suggest(word string, candidates []string) string {
	best, bestDist := "", 1<<30
	lw := strings.ToLower(word)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := levenshtein(lw, lc)
		if strings.HasPrefix(lc, lw) || strings.HasPrefix(lw, lc) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist <= max(1, len(word)/3) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
