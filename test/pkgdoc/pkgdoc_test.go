// Package pkgdoc checks the project's own conventions that a compiler does not: every
// package says what it is for, and no package is a grab bag.
package pkgdoc

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestEveryPackageHasADocComment(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "artifacts") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 5 {
		t.Fatalf("found only %d package directories under %s", len(dirs), root)
	}
	for dir := range dirs {
		rel, _ := filepath.Rel(root, dir)
		switch filepath.Base(dir) {
		case "util", "utils", "common", "helpers", "misc":
			t.Errorf("%s: name a package for what it does", rel)
		}
		documented := map[string]bool{}
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Fatal(err)
			}
			name, doc := f.Name.Name, f.Doc.Text()
			documented[name] = documented[name] || strings.HasPrefix(doc, "Package "+name+" ") ||
				name == "main" && strings.HasPrefix(doc, "Command ")
		}
		for name, ok := range documented {
			if !ok {
				t.Errorf("%s: package %s has no doc comment (\"// Package %s ...\" or \"// Command ...\")", rel, name, name)
			}
		}
	}
}
