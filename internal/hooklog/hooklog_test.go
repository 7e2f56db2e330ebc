package hooklog

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestTailKeepsTheEnd(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		writes  []string
		want    string
		dropped int64
	}{
		{"short log kept whole", 16, []string{"one\n", "two\n"}, "one\ntwo\n", 0},
		{"exactly the bound", 8, []string{"one\n", "two\n"}, "one\ntwo\n", 0},
		{"cut drops the partial line and says how much is missing", 10, []string{"first\n", "second\n", "third\n"},
			"[ferry: the first 13 bytes of the log are not kept; its last 6 follow]\nthird\n", 9},
		{"a write larger than the bound", 6, []string{"0123456789\nabcd\n"},
			"[ferry: the first 11 bytes of the log are not kept; its last 5 follow]\nabcd\n", 10},
		{"a cut between lines drops no line", 4, []string{"abc\n", "def\n"},
			"[ferry: the first 4 bytes of the log are not kept; its last 4 follow]\ndef\n", 4},
		{"one long line is kept cut rather than dropped", 4, []string{"abcdefgh"},
			"[ferry: the first 4 bytes of the log are not kept; its last 4 follow]\nefgh", 4},
		{"invalid UTF-8 is replaced", 16, []string{"ok \xff\n"}, "ok \uFFFD\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tail := &Tail{Max: tt.max}
			for _, w := range tt.writes {
				if n, err := tail.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := tail.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if tail.Dropped() != tt.dropped {
				t.Errorf("Dropped() = %d, want %d", tail.Dropped(), tt.dropped)
			}
		})
	}
}

// A log far larger than the bound, read in small pieces as a stream is, keeps exactly
// its last lines within MaxBytes.
func TestTailBoundsALongStream(t *testing.T) {
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "line %05d of the hook's output\n", i)
	}
	tail := &Tail{}
	// Pieces of an odd size, so that cuts fall inside lines.
	if _, err := io.CopyBuffer(tail, struct{ io.Reader }{strings.NewReader(b.String())}, make([]byte, 777)); err != nil {
		t.Fatal(err)
	}
	got := tail.String()
	first, rest, _ := strings.Cut(got, "\n")
	if !strings.HasPrefix(first, "[ferry: the first ") {
		t.Errorf("first line %q does not say the start is missing", first)
	}
	if len(rest) > MaxBytes || len(rest) < MaxBytes-40 {
		t.Errorf("kept %d bytes, want just under %d", len(rest), MaxBytes)
	}
	if !strings.HasSuffix(rest, "line 19999 of the hook's output\n") || !strings.HasPrefix(rest, "line ") {
		t.Errorf("kept text starts %q and ends %q", rest[:20], rest[len(rest)-40:])
	}
	if cap(tail.buf) > 2*MaxBytes {
		t.Errorf("the tail grew to %d bytes for a bound of %d", cap(tail.buf), MaxBytes)
	}
	if int(tail.Dropped())+MaxBytes != b.Len() {
		t.Errorf("dropped %d of %d", tail.Dropped(), b.Len())
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		log   string
		n     int
		width int
		want  []string
	}{
		{"", 5, 80, nil},
		{"a\nb\nc\n", 5, 80, []string{"a", "b", "c"}},
		{"1\n2\n3\n4\n5\n6\n7\n", 5, 80, []string{"3", "4", "5", "6", "7"}},
		{"no newline at the end", 5, 80, []string{"no newline at the end"}},
		{"a\n\n  \nb\r\n\n", 5, 80, []string{"a", "b"}},
		{"short\n" + strings.Repeat("x", 100) + "\n", 5, 10, []string{"short", "xxxxxxxxx…"}},
		{"é€😀abc\n", 1, 4, []string{"é€😀…"}},
	}
	for _, tt := range tests {
		got := LastLines(tt.log, tt.n, tt.width)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || len(got) != len(tt.want) {
			t.Errorf("LastLines(%q, %d, %d) = %q, want %q", tt.log, tt.n, tt.width, got, tt.want)
		}
	}
}

func TestName(t *testing.T) {
	long := strings.Repeat("p", 250)
	tests := []struct {
		promotion, step, hook, cluster string
		want                           string
	}{
		{"web-1-0-0-dev", "preDeploy", "migrate", "", "web-1-0-0-dev-predeploy-migrate"},
		{"web-1-0-0-dev", "rollbackTests", "smoke", "", "web-1-0-0-dev-rollbacktests-smoke"},
		{"web-1-0-0-prod", "postDeploy", "smoke", "eu-1", "web-1-0-0-prod-postdeploy-smoke-eu-1"},
		// A hook name a label allows but an object name does not gets a hash.
		{"web-1-0-0-dev", "postDeploy", "Smoke_Test", "", "web-1-0-0-dev-postdeploy-smoke-test-"},
		{long, "postDeploy", "smoke", "", "ppp"},
	}
	for _, tt := range tests {
		got := Name(tt.promotion, tt.step, tt.hook, tt.cluster)
		if !strings.HasPrefix(got, tt.want) || len(got) > 253 {
			t.Errorf("Name(%q, %q, %q, %q) = %q, want it to start %q, at most 253 characters", tt.promotion, tt.step, tt.hook, tt.cluster, got, tt.want)
		}
	}
	if a, b := Name("web-dev", "postDeploy", "smoke_test", ""), Name("web-dev", "postDeploy", "smoke-test", ""); a == b {
		t.Errorf("two hooks share the log name %s", a)
	}
	if a, b := Name(long, "postDeploy", "smoke", ""), Name(long, "postDeploy", "smoke2", ""); a == b || len(a) != 253 {
		t.Errorf("long names %s and %s", a, b)
	}
}
