//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// load is a bounded load generator: a fixed number of requests per second to one URL
// of the local cluster, for at most a fixed time, stopping by itself. It counts the
// answers by version and the failures, with when the first and last failure came.
type load struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	ok        int
	failed    int
	versions  map[string]int
	firstFail time.Time
	lastFail  time.Time
	// log keeps every answer in order: when, and the version or the failure.
	log []answer
}

type answer struct {
	at      time.Time
	version string // "" for a failure
}

// startLoad sends rps requests per second to url (an /info address on the bridge or a
// ClusterIP) until stop is called or limit passes.
func startLoad(url string, rps int, limit time.Duration) *load {
	return startRequests(url, rps, limit, nil)
}

// startRequests is startLoad with each request shaped by mark first (its Host, a header
// or a cookie), when mark is not nil.
func startRequests(url string, rps int, limit time.Duration, mark func(*http.Request)) *load {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	l := &load{cancel: cancel, done: make(chan struct{}), versions: map[string]int{}}
	// A connection per request: kube-proxy picks a pod per connection, so kept-alive
	// connections would stay on the pods that existed when they opened, and a new
	// version's pods would see no share of the traffic.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(time.Second / time.Duration(rps))
		defer tick.Stop()
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				wg.Add(1)
				go func() {
					defer wg.Done()
					l.record(get(ctx, client, url, mark))
				}()
			}
		}
	}()
	return l
}

// get asks for /info and returns the version that answered, or "" on any failure.
func get(ctx context.Context, c *http.Client, url string, mark func(*http.Request)) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ""
	}
	if mark != nil {
		mark(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "stopped"
		}
		return ""
	}
	defer resp.Body.Close()
	var info struct {
		Version string `json:"version"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&info) != nil || info.Version == "" {
		return ""
	}
	return info.Version
}

func (l *load) record(version string) {
	if version == "stopped" {
		return // the generator's own end, not an answer
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, answer{now, version})
	if version == "" {
		l.failed++
		if l.firstFail.IsZero() {
			l.firstFail = now
		}
		l.lastFail = now
		return
	}
	l.ok++
	l.versions[version]++
}

// stop ends the load and waits for the requests under way.
func (l *load) stop() {
	l.cancel()
	<-l.done
}

// summary says what the load saw, for the test log.
func (l *load) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	vs := make([]string, 0, len(l.versions))
	for v, n := range l.versions {
		vs = append(vs, fmt.Sprintf("%s: %d", v, n))
	}
	sort.Strings(vs)
	return fmt.Sprintf("%d answered (%s), %d failed", l.ok, strings.Join(vs, ", "), l.failed)
}

// failures is the count of failed requests.
func (l *load) failures() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// lastAnsweredBy is when version last answered (zero if never).
func (l *load) lastAnsweredBy(version string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.log) - 1; i >= 0; i-- {
		if l.log[i].version == version {
			return l.log[i].at
		}
	}
	return time.Time{}
}

// firstAnsweredBy is when version first answered (zero if never).
func (l *load) firstAnsweredBy(version string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.log {
		if a.version == version {
			return a.at
		}
	}
	return time.Time{}
}

// countsBetween is how many answers each version gave from one moment to another, with
// "" for failures.
func (l *load) countsBetween(from, to time.Time) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, a := range l.log {
		if !a.at.Before(from) && a.at.Before(to) {
			out[a.version]++
		}
	}
	return out
}
