package acceptencoding

import "testing"

func TestGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                        false,
		"gzip":                    true,
		"gzip, deflate, br, zstd": true,
		"br;q=1.0, gzip;q=0.8":    true,
		"gzip;q=0":                false,
		"gzip; q=0.000":           false,
		"GZIP; q=0.5":             true,
		"deflate, identity":       false,
		"x-gzip":                  false,
	} {
		if got := Gzip(header); got != want {
			t.Errorf("Gzip(%q) = %v, want %v", header, got, want)
		}
	}
}
