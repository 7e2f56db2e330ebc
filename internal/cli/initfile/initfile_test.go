package initfile

import (
	"bytes"
	"strings"
	"testing"

	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/cli/iostreams"
)

func TestStarterFileIsValid(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	cmd := NewCommand(iostreams.Streams{Out: &out, Err: &out})
	cmd.SetArgs([]string{dir, "--artifact", "shop"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	f, err := appfile.Load(dir, appfile.Options{})
	if err != nil {
		t.Fatalf("the starter file does not load: %v", err)
	}
	if f.App.Build.Artifact != "shop" || len(f.App.AllStages()) != 2 {
		t.Fatalf("got %+v", f.App.Build)
	}
	cmd = NewCommand(iostreams.Streams{Out: &out, Err: &out})
	cmd.SetArgs([]string{dir})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrote without --force: %v", err)
	}
}
