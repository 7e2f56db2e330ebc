//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// load is a bounded load generator: a fixed number of requests per second to one URL
// of the local cluster, for at most a fixed time, stopping by itself. It counts the
// answers by version and the failures, with when the first and last failure came and
// what each failure met (so that a failed run says why in its log).
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
	// why counts the failures by what they met: an error, or a status and body; the
	// first failed request was sent at firstSent.
	why       map[string]int
	firstSent time.Time
}

// timeOfDay is how the load's moments are written in its summary.
const timeOfDay = "15:04:05.000"

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
	l := &load{cancel: cancel, done: make(chan struct{}), versions: map[string]int{}, why: map[string]int{}}
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
					sent := time.Now()
					version, why := get(ctx, client, url, mark)
					l.record(sent, version, why)
				}()
			}
		}
	}()
	return l
}

// get asks for /info and returns the version that answered, or "" and what the
// request met on any failure.
func get(ctx context.Context, c *http.Client, url string, mark func(*http.Request)) (version, why string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err.Error()
	}
	if mark != nil {
		mark(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "stopped", ""
		}
		return "", err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if err != nil {
		return "", fmt.Sprintf("%s, reading the body: %v", resp.Status, err)
	}
	var info struct {
		Version string `json:"version"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &info) != nil || info.Version == "" {
		return "", fmt.Sprintf("%s: %.80q", resp.Status, body)
	}
	return info.Version, ""
}

// record keeps an answer to a request sent at sent.
func (l *load) record(sent time.Time, version, why string) {
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
		if l.firstSent.IsZero() {
			l.firstSent = sent
		}
		l.why[why]++
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
	out := fmt.Sprintf("%d answered (%s), %d failed", l.ok, strings.Join(vs, ", "), l.failed)
	if l.failed > 0 {
		causes := make([]string, 0, len(l.why))
		for why, n := range l.why {
			causes = append(causes, fmt.Sprintf("%dx %s", n, why))
		}
		sort.Strings(causes)
		if len(causes) > 10 {
			causes = append(causes[:10], fmt.Sprintf("and %d more", len(causes)-10))
		}
		out += fmt.Sprintf(" (the first sent at %s, the last answered at %s): %s", l.firstSent.UTC().Format(timeOfDay),
			l.lastFail.UTC().Format(timeOfDay), strings.Join(causes, "; "))
	}
	return out
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
