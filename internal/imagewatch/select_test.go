package imagewatch

import "testing"

func TestSelect(t *testing.T) {
	tags := []string{"latest", "1.2.0", "1.2.1", "1.3.0", "1.10.0", "1.2.2-rc.1", "v1.2.1", "build-7", "build-10", "2.0.0"}
	for _, c := range []struct {
		tag, rng, re string
		want         string
		ok           bool
	}{
		{"latest", "", "", "latest", true},
		{"", "~1.2", "", "1.2.1", true}, // 1.3.0 is out; a pre-release is not taken by a plain range
		{"", "^1", "", "1.10.0", true},  // versions compare as versions
		{"", ">=3", "", "", false},
		{"", "", `^build-\d+$`, "build-7", true}, // not versions: lexical
		{"", "", `^1\.2\.\d+$`, "1.2.1", true},
		{"", "", `^1\.2\.`, "1.2.2-rc.1", true}, // a pre-release of 1.2.2 is above 1.2.1
		{"", "", `^nothing$`, "", false},
	} {
		w, err := ParseWant(c.tag, c.rng, c.re)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := Select(tags, w)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %q %v, want %q %v", w.Source, got, ok, c.want, c.ok)
		}
	}
}

func TestParseWantRefusesBadInput(t *testing.T) {
	for _, c := range []struct{ tag, rng, re, want string }{
		{"", "~1.x.banana", "", `semver "~1.x.banana": `},
		{"", "", "(", "tagRegex \"(\": error parsing regexp"},
		{"", "", "", "no tag, semver or tagRegex to follow"},
	} {
		if _, err := ParseWant(c.tag, c.rng, c.re); err == nil || len(err.Error()) < len(c.want) || err.Error()[:len(c.want)] != c.want {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestFromDockerConfig(t *testing.T) {
	doc := []byte(`{"auths":{"127.0.0.1:5000":{"auth":"Y2k6czNjcmV0"},"https://registry.example.com/":{"username":"bot","password":"pw"}}}`)
	a, id, err := FromDockerConfig(doc, "127.0.0.1:5000")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := a.Authorization()
	if cfg.Username != "ci" || cfg.Password != "s3cret" || len(id) != 16 {
		t.Errorf("loopback: %+v %q", cfg, id)
	}
	b, id2, err := FromDockerConfig(doc, "registry.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := b.Authorization(); cfg.Username != "bot" || id2 == id {
		t.Errorf("example: %+v %q", cfg, id2)
	}
	if _, _, err := FromDockerConfig(doc, "ghcr.io"); err == nil || err.Error() != "no credentials for registry ghcr.io" {
		t.Errorf("missing: %v", err)
	}
	if _, _, err := FromDockerConfig([]byte("{"), "ghcr.io"); err == nil {
		t.Error("broken JSON accepted")
	}
}
