package api

import (
	"fmt"
	"testing"
	"time"
)

func TestReviewCacheKeepsAUserForItsTTL(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newReviewCache[User](10*time.Second, 8, func() time.Time { return now })
	if _, ok := c.get("t1"); ok {
		t.Fatal("an unknown token is cached")
	}
	c.put("t1", User{Name: "alice", Groups: []string{"team"}})
	now = now.Add(9 * time.Second)
	if u, ok := c.get("t1"); !ok || u.Name != "alice" || u.Groups[0] != "team" {
		t.Fatalf("within the TTL: %+v %v", u, ok)
	}
	if _, ok := c.get("t2"); ok {
		t.Fatal("another token shares the entry")
	}
	now = now.Add(time.Second)
	if _, ok := c.get("t1"); ok {
		t.Fatal("the review is kept past its TTL")
	}
	if c.len() != 0 {
		t.Fatalf("an expired entry stays: %d", c.len())
	}
}

func TestReviewCacheIsBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newReviewCache[User](10*time.Second, 4, func() time.Time { return now })
	for i := range 3 {
		c.put(fmt.Sprint("old", i), User{Name: "old"})
	}
	now = now.Add(5 * time.Second)
	c.put("fresh", User{Name: "fresh"})
	now = now.Add(6 * time.Second) // the three old ones expired, fresh has not
	c.put("new", User{Name: "new"})
	if c.len() != 2 {
		t.Fatalf("the expired entries are not dropped when full: %d entries", c.len())
	}
	if _, ok := c.get("fresh"); !ok {
		t.Fatal("a live entry was dropped while expired ones could go")
	}
	for i := range 10 {
		c.put(fmt.Sprint("burst", i), User{})
		if c.len() > 4 {
			t.Fatalf("%d entries, bound 4", c.len())
		}
	}
	if _, ok := c.get("burst9"); !ok {
		t.Fatal("the last accepted token is not cached")
	}
}
