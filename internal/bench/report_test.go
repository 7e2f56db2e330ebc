package bench

import (
	"os"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    int
		want time.Duration
	}{{50, 100 * time.Millisecond}, {99, 198 * time.Millisecond}, {100, 200 * time.Millisecond}, {1, 2 * time.Millisecond}} {
		if got := pct(d, c.p); got != c.want {
			t.Errorf("p%d = %s, want %s", c.p, got, c.want)
		}
	}
	if pct(nil, 50) != 0 {
		t.Error("empty")
	}
}

// TestProcReadings reads this process's own memory and CPU time.
func TestProcReadings(t *testing.T) {
	rss, err := rssBytes(os.Getpid())
	if err != nil || rss < 1<<20 || rss > 1<<34 {
		t.Errorf("rss %d, %v", rss, err)
	}
	before, err := cpuSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for x, start := 0, time.Now(); time.Since(start) < 200*time.Millisecond; x++ {
		_ = x * x
	}
	after, err := cpuSeconds(os.Getpid())
	if err != nil || after-before < 0.1 {
		t.Errorf("cpu %f -> %f, %v", before, after, err)
	}
}
