package api

import (
	"crypto/sha256"
	"sync"
	"time"
)

// A page of the dashboard makes several requests: one TokenReview serves them all,
// while a revoked token stops working within tokenTTL.
const (
	tokenTTL  = 10 * time.Second
	maxTokens = 4096
)

// tokenCache remembers the users of tokens the API server accepted, for a short time.
// It keys on the token's hash, so no token stays in memory as such; refusals are never
// kept, so a fixed token works at once.
type tokenCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	now     func() time.Time
	entries map[[sha256.Size]byte]cachedUser
}

type cachedUser struct {
	user    User
	expires time.Time
}

func newTokenCache(ttl time.Duration, maxEntries int, now func() time.Time) *tokenCache {
	return &tokenCache{ttl: ttl, max: maxEntries, now: now, entries: map[[sha256.Size]byte]cachedUser{}}
}

func (c *tokenCache) get(token string) (User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := sha256.Sum256([]byte(token))
	e, ok := c.entries[k]
	if !ok {
		return User{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, k)
		return User{}, false
	}
	return e.user, true
}

// put remembers an accepted token. When full it first drops the expired entries, and
// if none had expired, all of them: a burst of distinct tokens then costs one review
// each, which is what it would cost without a cache.
func (c *tokenCache) put(token string, u User) {
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
	c.entries[sha256.Sum256([]byte(token))] = cachedUser{user: u, expires: now.Add(c.ttl)}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
