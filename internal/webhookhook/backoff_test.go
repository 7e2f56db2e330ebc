package webhookhook

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	s := time.Second
	tests := []struct {
		attempt int
		lo, hi  time.Duration
	}{
		{-1, 1500 * time.Millisecond, 2 * s},
		{0, 1500 * time.Millisecond, 2 * s},
		{1, 1500 * time.Millisecond, 2 * s},
		{2, 3 * s, 4 * s},
		{3, 6 * s, 8 * s},
		{5, 24 * s, 32 * s},
		{6, 45 * s, 60 * s},
		{7, 45 * s, 60 * s},
		{1 << 30, 45 * s, 60 * s},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := Backoff(tt.attempt)
			if d < tt.lo || d > tt.hi {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", tt.attempt, d, tt.lo, tt.hi)
			}
			seen[d] = true
		}
		// 200 draws from a range of over a billion nanoseconds all alike would mean no jitter.
		if len(seen) < 2 {
			t.Errorf("Backoff(%d) gave the same wait 200 times: no jitter", tt.attempt)
		}
	}
}
