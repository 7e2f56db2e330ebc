package bench

import (
	"os"
	"syscall"
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

// TestProcReadings reads this process's own memory and CPU time, and checks
// the CPU reading against the kernel's rusage for the same process: a wall-
// clock spin alone says little on a busy machine.
func TestProcReadings(t *testing.T) {
	rss, err := rssBytes(os.Getpid())
	if err != nil || rss < 1<<20 || rss > 1<<34 {
		t.Errorf("rss %d, %v", rss, err)
	}
	for x, start := 0, time.Now(); time.Since(start) < 300*time.Millisecond; x++ {
		_ = x * x
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	want := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	got, err := cpuSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// /proc counts in 10 ms ticks; rusage is finer and read a moment earlier.
	if got < want-0.05 || got > want+0.05 || got <= 0 {
		t.Errorf("cpu from /proc %.3f s, rusage %.3f s", got, want)
	}
}
