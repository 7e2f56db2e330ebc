package api

import (
	"crypto/sha256"
	"sync"
	"time"
)

// A page of the dashboard makes several requests: one TokenReview and one
// SubjectAccessReview per read serve them all, while a revoked token or right stops
// working within reviewTTL.
const (
	reviewTTL  = 10 * time.Second
	maxReviews = 4096
)

// reviewCache remembers the API server's answers to reviews for a short time. It keys
// on a hash of what was asked, so no token stays in memory as such.
type reviewCache[V any] struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	now     func() time.Time
	entries map[[sha256.Size]byte]cached[V]
}

type cached[V any] struct {
	value   V
	expires time.Time
}

func newReviewCache[V any](ttl time.Duration, maxEntries int, now func() time.Time) *reviewCache[V] {
	return &reviewCache[V]{ttl: ttl, max: maxEntries, now: now, entries: map[[sha256.Size]byte]cached[V]{}}
}

func (c *reviewCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := sha256.Sum256([]byte(key))
	e, ok := c.entries[k]
	if !ok {
		var zero V
		return zero, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, k)
		var zero V
		return zero, false
	}
	return e.value, true
}

// put remembers an answer. When full it first drops the expired entries, and if none
// had expired, all of them: a burst of distinct questions then costs one review each,
// which is what it would cost without a cache.
func (c *reviewCache[V]) put(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[sha256.Sum256([]byte(key))] = cached[V]{value: v, expires: now.Add(c.ttl)}
}

func (c *reviewCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
