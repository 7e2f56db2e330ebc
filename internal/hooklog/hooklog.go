// Package hooklog keeps the logs of hook Jobs: it reads the log of a Job's pod from its
// target cluster, keeping only its end, stores it in a ConfigMap beside the Promotion
// the hook ran for, and reads the kept logs back for `ferry logs`.
package hooklog

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxBytes is how much of a log is kept: its last 64 KiB. A hook says why it failed at
// the end of its output, so the end is what is kept; a ConfigMap holds at most 1 MiB.
const MaxBytes = 64 << 10

// Tail is an io.Writer that keeps the last Max bytes written to it, counting the rest,
// so that a log of any length is read in bounded memory (twice Max).
type Tail struct {
	// Max is how many bytes are kept (zero: MaxBytes).
	Max     int
	buf     []byte
	written int64
	// before is the last byte dropped from the front of buf.
	before byte
}

// Write keeps the end of what was written so far; it never fails.
func (t *Tail) Write(p []byte) (int, error) {
	limit := t.limit()
	t.written += int64(len(p))
	if t.buf == nil {
		t.buf = make([]byte, 0, 2*limit)
	}
	if len(p) >= limit {
		if len(p) > limit {
			t.before = p[len(p)-limit-1]
		} else if len(t.buf) > 0 {
			t.before = t.buf[len(t.buf)-1]
		}
		t.buf = append(t.buf[:0], p[len(p)-limit:]...)
		return len(p), nil
	}
	// Drop the front only when the buffer would outgrow twice the bound, so that a byte
	// is moved about once however small the writes.
	if len(t.buf)+len(p) > 2*limit {
		off := len(t.buf) + len(p) - limit
		t.before = t.buf[off-1]
		t.buf = t.buf[:copy(t.buf, t.buf[off:])]
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

func (t *Tail) limit() int {
	if t.Max > 0 {
		return t.Max
	}
	return MaxBytes
}

// kept is the end kept and the byte just before it (0 when nothing was dropped).
func (t *Tail) kept() ([]byte, byte) {
	if off := len(t.buf) - t.limit(); off > 0 {
		return t.buf[off:], t.buf[off-1]
	}
	return t.buf, t.before
}

// Dropped is how many bytes were written before the kept end.
func (t *Tail) Dropped() int64 {
	kept, _ := t.kept()
	return t.written - int64(len(kept))
}

// String is the kept end as text. When the start was dropped, the partial line the cut
// left is dropped too, and a first line says how much is missing. Bytes that are not
// UTF-8 are replaced, since a ConfigMap holds text.
func (t *Tail) String() string {
	kept, before := t.kept()
	missing := t.Dropped()
	if missing == 0 {
		return strings.ToValidUTF8(string(kept), "\uFFFD")
	}
	if i := bytes.IndexByte(kept, '\n'); before != '\n' && i >= 0 && i < len(kept)-1 {
		missing += int64(i + 1)
		kept = kept[i+1:]
	}
	return fmt.Sprintf("[ferry: the first %d bytes of the log are not kept; its last %d follow]\n", missing, len(kept)) +
		strings.ToValidUTF8(string(kept), "\uFFFD")
}

// LastLines returns up to n last non-blank lines of log, each cut to width characters,
// for a short message such as a failed hook's: the whole log stays in its ConfigMap.
func LastLines(log string, n, width int) []string {
	var lines []string
	rest := log
	for len(lines) < n && rest != "" {
		var line string
		if i := strings.LastIndexByte(rest, '\n'); i >= 0 {
			rest, line = rest[:i], rest[i+1:]
		} else {
			rest, line = "", rest
		}
		line = strings.TrimRight(line, " \t\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		lines = append(lines, clip(line, width))
	}
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	return lines
}

// clip cuts s to at most width characters, marking the cut.
func clip(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}
