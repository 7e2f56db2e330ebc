package gitbuild

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildRefusesIncompleteOptions(t *testing.T) {
	ok := Options{Dir: "/src", Package: "app", Image: "127.0.0.1:5000/app:1"}
	for name, tc := range map[string]struct {
		mutate func(*Options)
		want   string
	}{
		"no image":            {func(o *Options) { o.Image = "" }, "a checkout dir, a package and an image are required"},
		"no package":          {func(o *Options) { o.Package = "" }, "a checkout dir, a package and an image are required"},
		"tests without image": {func(o *Options) { o.TestsPackage = "apptest" }, "a tests package and a tests image go together"},
		"image without tests": {func(o *Options) { o.TestsImage = "127.0.0.1:5000/app-tests:1" }, "a tests package and a tests image go together"},
		"package outside":     {func(o *Options) { o.Package = "../elsewhere" }, `package "../elsewhere" is not a directory inside the repository`},
		"absolute package":    {func(o *Options) { o.Package = "/etc" }, `package "/etc" is not a directory inside the repository`},
	} {
		t.Run(name, func(t *testing.T) {
			o := ok
			tc.mutate(&o)
			_, err := Build(context.Background(), o)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBuildNamesAMissingPackage(t *testing.T) {
	_, err := Build(context.Background(), Options{Dir: t.TempDir(), Package: "examples/nope", Image: "127.0.0.1:1/nope:1"})
	if err == nil || err.Error() != "package examples/nope: no such directory in the repository at this commit" {
		t.Errorf("error %v", err)
	}
}

func TestHostToolchainIsThisMachinesGo(t *testing.T) {
	tc, err := HostToolchain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tc.GOROOT, "bin", "go")); err != nil {
		t.Errorf("GOROOT %s has no bin/go: %v", tc.GOROOT, err)
	}
	if _, err := os.Stat(tc.GOMODCACHE); err != nil {
		t.Errorf("GOMODCACHE: %v", err)
	}
	env := strings.Join(Toolchain{GOROOT: "/usr/local/go", GOMODCACHE: "/root/go/pkg/mod"}.Env(), " ")
	if env != "PATH=/usr/local/go/bin:/ HOME=/tmp GOMODCACHE=/root/go/pkg/mod GOTOOLCHAIN=local" {
		t.Errorf("builder env %s", env)
	}
}

func TestBuilderRef(t *testing.T) {
	if got := BuilderRef("127.0.0.1:5000", "0.4.0"); got != "127.0.0.1:5000/ferry/builder:0.4.0" {
		t.Errorf("got %s", got)
	}
}
