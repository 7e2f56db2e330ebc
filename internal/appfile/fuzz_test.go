package appfile

import (
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader: it may reject them, never panic, and an
// error is always a list of positioned problems.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte("profiles: [go-service]\n" + valid))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("deploy: {stages: [{name: dev, helm: {values: {scaling: {min: 9, max: 1}}}}]}\n"))
	f.Add([]byte("<<: [*a]\n"))
	f.Add([]byte("- 1\n- 2\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := LoadBytes("ferry.yml", data, dir, Options{})
		if err != nil {
			if len(Problems(err)) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			return
		}
		if file.App == nil {
			t.Fatal("no error and no app")
		}
		_ = file.Tree.Leaves()
	})
}
