package imagebuild

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImageHoldsTheBinaryAsEntrypoint(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, []byte("\x7fELF fake binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := Image(bin, []string{"A=1"})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/app" {
		t.Errorf("entrypoint %v", cf.Config.Entrypoint)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdr, err := tar.NewReader(rc).Next()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Name != "app" || hdr.Mode != 0o755 {
		t.Errorf("layer entry %q mode %o", hdr.Name, hdr.Mode)
	}

	// The same binary gives the same digest: images are reproducible.
	again, err := Image(bin, []string{"A=1"})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("digests differ: %s %s", d1, d2)
	}
}

func TestDigestRef(t *testing.T) {
	r := Result{Ref: "127.0.0.1:5000/hello:1.0.0", Digest: "sha256:abc"}
	if got := r.DigestRef(); got != "127.0.0.1:5000/hello@sha256:abc" {
		t.Fatalf("got %s", got)
	}
	r = Result{Ref: "127.0.0.1:5000/hello", Digest: "sha256:abc"}
	if got := r.DigestRef(); got != "127.0.0.1:5000/hello@sha256:abc" {
		t.Fatalf("got %s", got)
	}
}

func TestImageEnvSetsPathOnce(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, []byte("\x7fELF fake binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  []string
		want []string
	}{
		{nil, []string{"PATH=/"}},
		{[]string{"A=1"}, []string{"PATH=/", "A=1"}},
		{[]string{"PATH=/usr/local/go/bin:/", "HOME=/tmp"}, []string{"PATH=/usr/local/go/bin:/", "HOME=/tmp"}},
	} {
		img, err := Image(bin, tc.env)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(cf.Config.Env, " ") != strings.Join(tc.want, " ") {
			t.Errorf("env %v: image env %v, want %v", tc.env, cf.Config.Env, tc.want)
		}
	}
}

func TestWithTmpAddsAWorldWritableTmp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, []byte("\x7fELF fake binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := Image(bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = WithTmp(img); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers %d, %v", len(layers), err)
	}
	rc, err := layers[1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdr, err := tar.NewReader(rc).Next()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Name != "tmp/" || hdr.Typeflag != tar.TypeDir || hdr.Mode != 0o1777 {
		t.Errorf("tmp layer entry %q type %c mode %o", hdr.Name, hdr.Typeflag, hdr.Mode)
	}
}
