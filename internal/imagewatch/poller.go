package imagewatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"ferry.dev/ferry/internal/imagebuild"
)

// requestTimeout bounds one registry request.
const requestTimeout = 10 * time.Second

// poller polls one repository for every watch that follows it.
type poller struct {
	h      *Hub
	id     string
	src    Source
	repo   name.Repository
	puller *remote.Puller
	after  *retryAfter
	wake   chan struct{}
	cancel context.CancelFunc
	ctxMu  sync.Mutex
	// failures counts the rounds in a row that met an error: the backoff.
	failures int
	// quietUntil is when the registry's last Retry-After ends.
	quietUntil time.Time
}

func newPoller(h *Hub, src Source) (*poller, error) {
	var opts []name.Option
	if imagebuild.IsLoopback(src.Repository) {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(src.Repository, opts...)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", src.Repository, err)
	}
	auth := src.Auth
	if auth == nil {
		auth = authn.Anonymous
	}
	after := &retryAfter{next: http.DefaultTransport}
	// One try per request: the poller's own backoff decides when to try again.
	puller, err := remote.NewPuller(remote.WithAuth(auth), remote.WithTransport(after), remote.WithUserAgent("ferry-imagewatch"),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}), remote.WithRetryStatusCodes())
	if err != nil {
		return nil, err
	}
	return &poller{h: h, id: pollerID(src), src: src, repo: repo, puller: puller, after: after, wake: make(chan struct{}, 1)}, nil
}

// run polls until stopped: at once, then after each round's wait, or when woken.
func (p *poller) run(ctx context.Context) {
	p.ctxMu.Lock()
	ctx, p.cancel = context.WithCancel(ctx)
	p.ctxMu.Unlock()
	for {
		if !p.sleep(ctx, p.round(ctx)) {
			return
		}
	}
}

// sleep waits until the next round, or less when woken, but never before a registry's
// Retry-After has passed: a 429 asked for quiet, and a push to the registry or a watch
// that joins does not end it. It reports false when the poller stops.
func (p *poller) sleep(ctx context.Context, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	case <-p.wake:
	}
	quiet := time.Until(p.quietUntil)
	if quiet <= 0 {
		return true
	}
	q := time.NewTimer(quiet)
	defer q.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-q.C:
		return true
	}
}

func (p *poller) stop() {
	p.ctxMu.Lock()
	defer p.ctxMu.Unlock()
	if p.cancel != nil {
		p.cancel()
	}
}

func (p *poller) wakeUp() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// round polls once for every watch of the poller and returns the wait until the next
// round: the shortest interval, or the backoff after an error.
func (p *poller) round(ctx context.Context) time.Duration {
	subs, every := p.h.subsOf(p)
	if len(subs) == 0 {
		return time.Minute // stopping: the hub cancels the context
	}
	now := time.Now()
	var tags []string
	var listErr error
	for _, s := range subs {
		if s.want.needsTags() {
			tags, listErr = p.list(ctx)
			break
		}
	}
	digests := map[string]Result{} // by tag: one HEAD per tag per round
	results := map[*sub]Result{}
	failed := listErr != nil
	for _, s := range subs {
		r := Result{At: now}
		tag := s.want.Tag
		switch {
		case s.want.needsTags() && listErr != nil:
			r.Reason, r.Err = classify(listErr, p.registry())
			results[s] = r
			continue
		case s.want.needsTags():
			var ok bool
			if tag, ok = Select(tags, s.want); !ok {
				r.Reason, r.Err = "NoMatchingTag", fmt.Sprintf("no tag of %s fits %s (%d tags)", p.src.Repository, s.want.Source, len(tags))
				results[s] = r
				continue
			}
		}
		d, ok := digests[tag]
		if !ok {
			d = p.head(ctx, tag, now)
			digests[tag] = d
			failed = failed || (d.Err != "" && d.Reason != "TagNotFound")
		}
		results[s] = d
	}
	p.h.publish(results)
	quiet := p.after.take()
	p.quietUntil = time.Now().Add(quiet)
	if !failed {
		p.failures = 0
		return max(every, quiet)
	}
	p.failures++
	return max(backoff(p.failures, every), quiet)
}

// list reads every tag of the repository (the registry's pages followed).
func (p *poller) list(ctx context.Context) ([]string, error) {
	if err := p.h.limiter(p.registry()).Wait(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	return p.puller.List(ctx, p.repo)
}

// head learns the tag's digest with a HEAD request on its manifest.
func (p *poller) head(ctx context.Context, tag string, now time.Time) Result {
	r := Result{Tag: tag, At: now}
	if err := p.h.limiter(p.registry()).Wait(ctx); err != nil {
		r.Reason, r.Err = "RegistryUnreachable", err.Error()
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	desc, err := p.puller.Head(ctx, p.repo.Tag(tag))
	if err != nil {
		r.Reason, r.Err = classify(err, p.registry())
		if r.Reason == "TagNotFound" {
			r.Err = fmt.Sprintf("%s:%s does not exist", p.src.Repository, tag)
		}
		return r
	}
	r.Digest = desc.Digest.String()
	return r
}

func (p *poller) registry() string { return p.repo.RegistryStr() }

// classify names what went wrong, with the registry in the message.
func classify(err error, registry string) (reason, msg string) {
	var te *transport.Error
	if errors.As(err, &te) {
		status := fmt.Sprintf("registry %s answered %d %s", registry, te.StatusCode, http.StatusText(te.StatusCode))
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return "Unauthorized", status + ": check the credentials in the ImageWatch's secretRef"
		case http.StatusTooManyRequests:
			return "RateLimited", status
		case http.StatusNotFound:
			return "TagNotFound", status
		}
		return "RegistryError", status
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return "RegistryUnreachable", fmt.Sprintf("registry %s: %v", registry, err)
	}
	return "RegistryError", fmt.Sprintf("registry %s: %v", registry, err)
}

// backoff is the wait after the nth failed round in a row: the interval doubled each
// time, up to ten intervals (at most 15 minutes, at least the interval), with 20%
// jitter so that pollers of one registry do not come back together.
func backoff(n int, every time.Duration) time.Duration {
	d := every << min(n-1, 10)
	d = min(d, max(every, min(10*every, 15*time.Minute)))
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64())) //nolint:gosec // jitter
}

// retryAfter is the transport that remembers a 429's Retry-After.
type retryAfter struct {
	next  http.RoundTripper
	mu    sync.Mutex
	after time.Duration
}

func (t *retryAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if d := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
			t.mu.Lock()
			t.after = max(t.after, d)
			t.mu.Unlock()
		}
	}
	return resp, err
}

// take returns and forgets the longest Retry-After seen since the last call.
func (t *retryAfter) take() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.after
	t.after = 0
	return d
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}
