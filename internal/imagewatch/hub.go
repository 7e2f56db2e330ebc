package imagewatch

import (
	"context"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"
)

// Key names one subscriber: an ImageWatch.
type Key = types.NamespacedName

// Source is where a watch's images are: a repository and the credentials to read it.
type Source struct {
	// Repository is REGISTRY/PATH.
	Repository string
	// Auth reads the registry (nil: anonymously).
	Auth authn.Authenticator
	// AuthID tells two sets of credentials apart without holding them (a hash), so
	// watches with different credentials never share a poller.
	AuthID string
}

// Result is what the last poll of its repository found for one watch.
type Result struct {
	Tag, Digest string
	At          time.Time
	// Reason and Err say why there is no image: Unauthorized, RateLimited,
	// TagNotFound, NoMatchingTag, RegistryUnreachable, RegistryError ("" when found).
	Reason string
	Err    string
}

// Hub runs the pollers. Its zero value is not usable: NewHub makes one.
type Hub struct {
	// Notify is told of each watch whose result changed (never while the hub is locked).
	Notify func(Key)
	// QPS and Burst limit the requests to one registry (defaults 10 and 20).
	QPS   float64
	Burst int

	ctx      context.Context
	mu       sync.Mutex
	pollers  map[string]*poller
	subs     map[Key]*sub
	limiters map[string]*rate.Limiter
}

// sub is one watch's subscription.
type sub struct {
	key    Key
	src    Source
	want   Want
	every  time.Duration
	result *Result
}

// NewHub returns a hub whose pollers run until ctx ends.
func NewHub(ctx context.Context, notify func(Key)) *Hub {
	return &Hub{ctx: ctx, Notify: notify, pollers: map[string]*poller{}, subs: map[Key]*sub{}, limiters: map[string]*rate.Limiter{}}
}

// pollerID is the poller a source shares.
func pollerID(s Source) string { return s.Repository + "\x00" + s.AuthID }

// Subscribe adds the watch, or changes what it follows; a new repository gets a poller
// that polls at once. A watch joining a running poller takes the last result of a watch
// there that wants the same (Result has it at once); without one it wakes the poller
// (several such wake-ups before its round are one round).
func (h *Hub) Subscribe(k Key, src Source, w Want, every time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.subs[k]; ok {
		if pollerID(old.src) == pollerID(src) && old.want.Source == w.Source && old.every == every {
			return nil
		}
		h.removeLocked(k)
	}
	id := pollerID(src)
	p, ok := h.pollers[id]
	if !ok {
		var err error
		if p, err = newPoller(h, src); err != nil {
			return err
		}
		h.pollers[id] = p
		go p.run(h.ctx)
	}
	s := &sub{key: k, src: src, want: w, every: every}
	for _, o := range h.subs {
		if pollerID(o.src) == id && o.want.Source == w.Source && o.result != nil {
			r := *o.result
			s.result = &r
			break
		}
	}
	h.subs[k] = s
	if ok && s.result == nil {
		// A new poller polls at once; a running one is woken (a round under way may
		// have listed its watches before this one).
		p.wakeUp()
	}
	return nil
}

// Unsubscribe removes the watch; a poller left with none stops.
func (h *Hub) Unsubscribe(k Key) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(k)
}

func (h *Hub) removeLocked(k Key) {
	s, ok := h.subs[k]
	if !ok {
		return
	}
	delete(h.subs, k)
	id := pollerID(s.src)
	for _, o := range h.subs {
		if pollerID(o.src) == id {
			return
		}
	}
	h.pollers[id].stop()
	delete(h.pollers, id)
}

// Result is the watch's last result; false before its first poll.
func (h *Hub) Result(k Key) (Result, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.subs[k]
	if !ok || s.result == nil {
		return Result{}, false
	}
	return *s.result, true
}

// CheckNow wakes the pollers of the repository at once (a registry said it changed).
func (h *Hub) CheckNow(repository string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.pollers {
		if p.src.Repository == repository {
			p.wakeUp()
		}
	}
}

// limiter is the registry's shared rate limit.
func (h *Hub) limiter(registry string) *rate.Limiter {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.limiters[registry]
	if !ok {
		qps, burst := h.QPS, h.Burst
		if qps <= 0 {
			qps = 10
		}
		if burst <= 0 {
			burst = 20
		}
		l = rate.NewLimiter(rate.Limit(qps), burst)
		h.limiters[registry] = l
	}
	return l
}

// subsOf are the watches a poller serves, and the shortest interval among them.
func (h *Hub) subsOf(p *poller) ([]*sub, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*sub
	var every time.Duration
	for _, s := range h.subs {
		if pollerID(s.src) == p.id {
			out = append(out, s)
			if every == 0 || s.every < every {
				every = s.every
			}
		}
	}
	return out, every
}

// publish records the round's results and tells of those that changed.
func (h *Hub) publish(results map[*sub]Result) {
	var changed []Key
	h.mu.Lock()
	for s, r := range results {
		if cur, ok := h.subs[s.key]; !ok || cur != s {
			continue // unsubscribed or changed meanwhile
		}
		if s.result == nil || s.result.Tag != r.Tag || s.result.Digest != r.Digest || s.result.Reason != r.Reason || s.result.Err != r.Err {
			changed = append(changed, s.key)
		}
		r := r
		s.result = &r
	}
	h.mu.Unlock()
	if h.Notify != nil {
		for _, k := range changed {
			h.Notify(k)
		}
	}
}
