package imagewatch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		n        int
		every    time.Duration
		min, max time.Duration
	}{
		{1, time.Minute, 48 * time.Second, 72 * time.Second},      // the interval, jittered
		{2, time.Minute, 96 * time.Second, 144 * time.Second},     // doubled
		{30, time.Minute, 8 * time.Minute, 12 * time.Minute},      // ten intervals at most
		{30, time.Hour, 48 * time.Minute, 72 * time.Minute},       // never below the interval
		{5, time.Second, 8 * time.Second, 12 * time.Second},       // 16 s capped at 10 intervals
		{3, 10 * time.Minute, 12 * time.Minute, 18 * time.Minute}, // 15 minutes at most, above the interval
	} {
		for range 20 {
			if d := backoff(c.n, c.every); d < c.min || d > c.max {
				t.Errorf("backoff(%d, %s) = %s, want %s..%s", c.n, c.every, d, c.min, c.max)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	if d := parseRetryAfter("120", now); d != 2*time.Minute {
		t.Errorf("seconds: %s", d)
	}
	if d := parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); d != 90*time.Second {
		t.Errorf("date: %s", d)
	}
	if d := parseRetryAfter("soon", now); d != 0 {
		t.Errorf("nonsense: %s", d)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	ra := &retryAfter{next: http.DefaultTransport}
	resp, err := (&http.Client{Transport: ra}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := ra.take(); d != 30*time.Second {
		t.Errorf("remembered %s", d)
	}
	if d := ra.take(); d != 0 {
		t.Errorf("taken twice: %s", d)
	}
}

// TestRateLimitedRegistryIsWaitedFor: a registry that answers 429 with Retry-After: 2
// is not asked again before two seconds, though the interval is 100 ms and the registry
// says the repository changed (a push) meanwhile.
func TestRateLimitedRegistryIsWaitedFor(t *testing.T) {
	const digest = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	var mu sync.Mutex
	var heads []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			w.WriteHeader(http.StatusOK) // the /v2/ ping
			return
		}
		mu.Lock()
		heads = append(heads, time.Now())
		n := len(heads)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Docker-Content-Digest", digest)
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := NewHub(ctx, nil)
	k := Key{Name: "limited"}
	w, _ := ParseWant("1.0.0", "", "")
	if err := h.Subscribe(k, Source{Repository: strings.TrimPrefix(srv.URL, "http://") + "/app"}, w, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r, _ := h.Result(k); r.Reason != "RateLimited"; r, _ = h.Result(k) {
		if time.Now().After(deadline) {
			t.Fatalf("not rate limited within 10 s: %+v", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.CheckNow(strings.TrimPrefix(srv.URL, "http://") + "/app")
	for r, _ := h.Result(k); r.Digest != digest; r, _ = h.Result(k) {
		if time.Now().After(deadline) {
			t.Fatalf("no digest within 10 s: %+v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := heads[1].Sub(heads[0]); gap < 2*time.Second {
		t.Errorf("asked again %s after a 429 with Retry-After: 2", gap)
	}
}
