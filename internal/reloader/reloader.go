// Package reloader is what the dev cluster's config writers share: a file replaced in
// one rename, so the reader (Prometheus, Alertmanager) never sees half of it, the
// POST /-/reload that makes the reader take it, and the loop that writes and reloads
// after each change of the objects they watch.
package reloader

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// WriteFile replaces file with b in one rename, with the given mode. The temporary file
// is named .PREFIX-* beside it: a dot name, which readers of a directory skip.
func WriteFile(file string, b []byte, mode os.FileMode, prefix string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+prefix+"-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// Reload POSTs BASE/-/reload; Prometheus and Alertmanager answer once they reloaded,
// with the reason when they refused the new file. An empty base does nothing.
func Reload(ctx context.Context, c *http.Client, base string) error {
	if base == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s: %s", req.URL, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
