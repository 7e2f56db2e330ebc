package reloader

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileReplacesWithTheMode(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "config.yml")
	for _, content := range []string{"first", "second"} {
		if err := WriteFile(file, []byte(content), 0o600, "cfg"); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(file)
	st, _ := os.Stat(file)
	if err != nil || string(b) != "second" || st.Mode().Perm() != 0o600 {
		t.Errorf("%q %v %v", b, st.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "sub", ".cfg-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestReloadSaysWhyItWasRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/-/reload" {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "yaml: line 3: mapping values are not allowed", http.StatusInternalServerError)
	}))
	defer srv.Close()
	err := Reload(context.Background(), srv.Client(), srv.URL+"/")
	if err == nil || !strings.Contains(err.Error(), "500 Internal Server Error: yaml: line 3") {
		t.Errorf("refused reload: %v", err)
	}
	if err := Reload(context.Background(), srv.Client(), ""); err != nil {
		t.Errorf("no URL: %v", err)
	}
}
