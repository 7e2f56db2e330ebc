//go:build integration

package imagewatch

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"ferry.dev/ferry/internal/testenv"
)

// TestHubAgainstARealRegistry polls Debian's distribution registry: a semver range
// takes the highest version inside it and a newer one as soon as it is pushed; a
// followed tag gives its digest; a hundred watches of one tag share one poller, whose
// HEAD requests the registry's access log counts, and one more joining it has their
// result at once; a stopped registry gives an error and recovery when it is back.
func TestHubAgainstARealRegistry(t *testing.T) {
	reg := testenv.StartRegistry(t, false)
	d120 := reg.Push("hello", "1.2.0")
	d130 := reg.Push("hello", "1.3.0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed := &keys{}
	h := NewHub(ctx, changed.add)
	src := Source{Repository: reg.Addr + "/hello"}
	semverKey, tagKey := Key{Namespace: "ns", Name: "semver"}, Key{Namespace: "ns", Name: "tag"}
	must(t, h.Subscribe(semverKey, src, mustWant(t, "", "~1.2", ""), 200*time.Millisecond))
	must(t, h.Subscribe(tagKey, src, mustWant(t, "1.3.0", "", ""), 200*time.Millisecond))
	waitResult(t, h, semverKey, func(r Result) bool { return r.Tag == "1.2.0" && r.Digest == d120 })
	waitResult(t, h, tagKey, func(r Result) bool { return r.Tag == "1.3.0" && r.Digest == d130 })
	if !changed.has(semverKey) || !changed.has(tagKey) {
		t.Errorf("not told of the first results: %v", changed.list())
	}

	pushed := time.Now()
	d121 := reg.Push("hello", "1.2.1")
	waitResult(t, h, semverKey, func(r Result) bool { return r.Tag == "1.2.1" && r.Digest == d121 })
	t.Logf("1.2.1 seen %s after its push", time.Since(pushed).Round(time.Millisecond))

	// A hundred watches of one tag: one HEAD per round, not a hundred.
	reg.Push("shared", "stable")
	sharedSrc := Source{Repository: reg.Addr + "/shared"}
	for i := range 100 {
		must(t, h.Subscribe(Key{Namespace: "ns", Name: fmt.Sprintf("shared-%d", i)}, sharedSrc, mustWant(t, "stable", "", ""), 500*time.Millisecond))
	}
	start := time.Now()
	waitResult(t, h, Key{Namespace: "ns", Name: "shared-99"}, func(r Result) bool { return r.Digest != "" })
	time.Sleep(2 * time.Second)
	heads := reg.Requests("HEAD", regexp.MustCompile(`^/v2/shared/manifests/stable$`))
	// A round each 500 ms, the first at once, one more that the watches joining during
	// the first woke (they were not yet listed in it), and one under way at the count.
	rounds := int(time.Since(start)/(500*time.Millisecond)) + 3
	t.Logf("100 watches of one tag: %d HEAD requests in %s", heads, time.Since(start).Round(time.Millisecond))
	if heads == 0 || heads > rounds {
		t.Errorf("%d HEAD requests for 100 watches in %s; want one per round (at most %d)", heads, time.Since(start), rounds)
	}

	// A watch joining a poller whose watches want the same has their result at once,
	// not at the poller's next round.
	late := Key{Namespace: "ns", Name: "shared-late"}
	must(t, h.Subscribe(late, sharedSrc, mustWant(t, "stable", "", ""), time.Hour))
	if r, ok := h.Result(late); !ok || r.Digest == "" {
		t.Errorf("a watch joining with a want the poller knows: %+v, %v", r, ok)
	}

	// The registry stops: an error naming it; it comes back: the image again.
	reg.Stop()
	waitResult(t, h, tagKey, func(r Result) bool {
		return r.Reason == "RegistryUnreachable" && strings.Contains(r.Err, reg.Addr) && r.Digest == ""
	})
	reg.Start()
	waitResult(t, h, tagKey, func(r Result) bool { return r.Digest == d130 && r.Reason == "" })
}

// TestHubWithCredentials: the registry asks for a password; the good one reads it, a
// bad one gives Unauthorized naming the registry and the 401.
func TestHubWithCredentials(t *testing.T) {
	reg := testenv.StartRegistry(t, true)
	digest := reg.Push("private", "1.0.0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := NewHub(ctx, nil)
	good, bad := Key{Name: "good"}, Key{Name: "bad"}
	must(t, h.Subscribe(good, Source{Repository: reg.Addr + "/private", Auth: &authn.Basic{Username: reg.User, Password: reg.Password}, AuthID: "good"},
		mustWant(t, "", "^1", ""), time.Second))
	must(t, h.Subscribe(bad, Source{Repository: reg.Addr + "/private", Auth: &authn.Basic{Username: reg.User, Password: "wrong"}, AuthID: "bad"},
		mustWant(t, "", "^1", ""), time.Second))
	waitResult(t, h, good, func(r Result) bool { return r.Digest == digest })
	r := waitResult(t, h, bad, func(r Result) bool { return r.Reason != "" })
	if r.Reason != "Unauthorized" || !strings.Contains(r.Err, "registry "+reg.Addr+" answered 401 Unauthorized") {
		t.Errorf("bad credentials: %+v", r)
	}
}

func waitResult(t *testing.T, h *Hub, k Key, ok func(Result) bool) Result {
	t.Helper()
	var last Result
	testenv.Eventually(t, 30*time.Second, func() error {
		r, found := h.Result(k)
		last = r
		if !found || !ok(r) {
			return fmt.Errorf("result of %s: %+v", k, r)
		}
		return nil
	})
	return last
}

func mustWant(t *testing.T, tag, rng, re string) Want {
	t.Helper()
	w, err := ParseWant(tag, rng, re)
	must(t, err)
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// keys records the watches the hub told of.
type keys struct {
	mu   sync.Mutex
	seen []Key
}

func (k *keys) add(key Key) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seen = append(k.seen, key)
}

func (k *keys) has(key Key) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range k.seen {
		if s == key {
			return true
		}
	}
	return false
}

func (k *keys) list() []Key {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]Key(nil), k.seen...)
}
