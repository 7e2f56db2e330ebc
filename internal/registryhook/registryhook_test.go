package registryhook

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	const (
		index    = "sha256:3f1c9a0e5b7d2c4e6a8b0d1f3e5c7a9b2d4f6e8a0c2e4b6d8f0a1c3e5b7d9f1a"
		manifest = "sha256:9b2d4f6e8a0c2e4b6d8f0a1c3e5b7d9f1a3f1c9a0e5b7d2c4e6a8b0d1f3e5c7a"
	)
	tests := []struct {
		file string
		want []Push
	}{
		// The registry's documented envelope: one manifest pushed by digest, then two blobs.
		{"envelope_documented.json", []Push{{
			ID: "asdf-asdf-asdf-asdf-0", At: time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC),
			Registry: "registrycluster.local", Repository: "library/test",
			Digest:    "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf",
			MediaType: "application/vnd.docker.distribution.manifest.v2+json", Actor: "test-actor",
		}}},
		// The documented pull of a manifest.
		{"envelope_pull.json", nil},
		// A multi-platform push: a layer mounted, the platform manifest by digest, the
		// index under its tag; then a pull and a delete, which are not pushes.
		{"envelope_multiarch.json", []Push{{
			ID: "e2", At: time.Date(2024, 5, 2, 9, 14, 3, 904512000, time.UTC),
			Registry: "registry.ferry.local:5000", Repository: "shop/web", Digest: manifest,
			MediaType: "application/vnd.oci.image.manifest.v1+json", Actor: "ci-bot",
		}, {
			ID: "e3", At: time.Date(2024, 5, 2, 9, 14, 4, 112007000, time.UTC),
			Registry: "registry.ferry.local:5000", Repository: "shop/web", Tag: "1.4.0", Digest: index,
			MediaType: "application/vnd.oci.image.index.v1+json", Actor: "ci-bot",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseOddEnvelopes(t *testing.T) {
	const digest = "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf"
	tests := []struct {
		name    string
		body    string
		want    int
		wantErr bool
	}{
		{"no events", `{"events":[]}`, 0, false},
		{"media type with a parameter, in capitals",
			`{"events":[{"action":"push","target":{"mediaType":"Application/VND.OCI.Image.Manifest.v1+json; charset=utf-8","digest":"` + digest + `","repository":"a"}}]}`, 1, false},
		{"manifest push without a digest",
			`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"a"}}]}`, 0, false},
		{"odd timestamp keeps the push",
			`{"events":[{"action":"push","timestamp":"yesterday","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + digest + `","repository":"a"}}]}`, 1, false},
		{"not JSON", `events: []`, 0, true},
		{"events not a list", `{"events":{}}`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if (err != nil) != tt.wantErr || len(got) != tt.want {
				t.Errorf("Parse = %d pushes, %v; want %d pushes, error %v", len(got), err, tt.want, tt.wantErr)
			}
		})
	}
}
