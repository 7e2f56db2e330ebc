//go:build integration

package build

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"ferry.dev/ferry/internal/gitbuild"
	"ferry.dev/ferry/internal/testenv"
)

// What a build Job's pod shows: the build log on stdout and the digests in its
// termination message, the digest the registry holds.
func TestBuildVerbLeavesTheDigestInTheTerminationLog(t *testing.T) {
	reg := testenv.StartRegistry(t, false)
	repo, commit := tinyRepo(t)
	log := filepath.Join(t.TempDir(), "termination-log")
	ref := reg.Addr + "/tiny:2.0.0"
	out, err := runVerb(t, "--repo", "file://"+repo, "--commit", commit[:7], "--package", "app", "--image", ref,
		"--version", "2.0.0", "--termination-log", log)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var res gitbuild.Result
	if err := json.Unmarshal(b, &res); err != nil || res.Tests != "" {
		t.Fatalf("termination log %s: %v", b, err)
	}
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(tag)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != res.App {
		t.Errorf("registry has %s, termination log says %s", desc.Digest, res.App)
	}
	for _, line := range []string{
		"checking out file://" + repo + " at " + commit[:7] + "\n",
		"building app as " + ref + "\n",
		"pushed " + reg.Addr + "/tiny@" + res.App + "\n",
		"wrote the digests to " + log + "\n",
		"done in ",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("build log lacks %q:\n%s", line, out)
		}
	}
}
