package version

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"ferry.dev/ferry/internal/buildinfo"
)

func TestVersionPrintsBuildInfo(t *testing.T) {
	old := buildinfo.Version
	buildinfo.Version = "1.2.3"
	t.Cleanup(func() { buildinfo.Version = old })

	var out bytes.Buffer
	cmd := NewCommand(&out)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "ferry 1.2.3 (commit ") {
		t.Fatalf("got %q", out.String())
	}

	out.Reset()
	cmd = NewCommand(&out)
	cmd.SetArgs([]string{"--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var info buildinfo.Info
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		t.Fatalf("not JSON: %v: %q", err, out.String())
	}
	if info.Version != "1.2.3" || info.Platform == "" || info.GoVersion == "" {
		t.Fatalf("got %+v", info)
	}
}
