package api

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// openWatch starts a watch of team and returns a function reading its next event
// ("event NAME DATA", or "comment TEXT").
func openWatch(t *testing.T, srv *httptest.Server) func() string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+Prefix+"namespaces/team/watch", nil)
	req.Header.Set("Authorization", "Bearer good")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("watch: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev []string
		for sc.Scan() {
			switch l := sc.Text(); {
			case l == "" && len(ev) > 0:
				lines <- strings.Join(ev, " ")
				ev = nil
			case strings.HasPrefix(l, ": "):
				lines <- "comment " + l[2:]
			case l != "":
				ev = append(ev, strings.SplitN(l, ": ", 2)[1])
			}
		}
		close(lines)
	}()
	return func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				return "closed"
			}
			return "event " + l
		case <-time.After(5 * time.Second):
			return "nothing"
		}
	}
}

// TestWatch: a Promotion's change sends its promotion event and its application's new
// row; a change that leaves the row as it was sends the promotion event alone; a
// watcher that falls behind is told to resync; heartbeats keep the stream open, and the
// stream ends when the server stops.
func TestWatch(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team"},
		Spec: ferryv1.ApplicationSpec{Stages: []ferryv1.StageSpec{{Name: "dev"}}}}
	p := testPromotion("shop-1-dev", "shop", "dev", t0, ferryv1.PromotionRunning)
	p.ResourceVersion = "7"
	feed := NewFeed(fakeCache(t, app, p))
	feed.heartbeat = 200 * time.Millisecond
	srv := httptest.NewServer((&API{Client: feed.reader, Feed: feed, Reviews: readers{}}).Handler())
	defer srv.Close()
	next := openWatch(t, srv)
	if got := next(); got != "event comment watching" {
		t.Fatalf("first: %s", got)
	}

	feed.promotionChanged(p, false)
	want := `event promotion {"name":"shop-1-dev","application":"shop","stage":"dev","phase":"Running","resourceVersion":"7"}`
	if got := next(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	want = `event application {"name":"shop","namespace":"team","stages":[{"name":"dev","promotion":"shop-1-dev","phase":"Running","stepsTotal":8,"startedAt":"2030-01-02T03:04:00Z"}]}`
	if got := next(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	feed.promotionChanged(p, false) // the same row: no application event
	if got := next(); !strings.HasPrefix(got, "event promotion ") {
		t.Errorf("again: %s", got)
	}
	if got := next(); got != "event comment heartbeat" {
		t.Errorf("then: %s", got)
	}

	sub, cancel := feed.subscribe("team") // a watcher that reads nothing
	defer cancel()
	for range subscriberBuffer + 1 {
		feed.promotionChanged(p, false)
	}
	if len(sub.resync) != 1 {
		t.Errorf("a watcher behind by %d events was not told to resync", subscriberBuffer+1)
	}
	for range subscriberBuffer + 1 { // what the stream read meanwhile
		if got := next(); !strings.HasPrefix(got, "event promotion ") {
			t.Fatalf("the stream: %s", got)
		}
	}
	feed.mu.Lock()
	for s := range feed.subs["team"] {
		if s != sub {
			s.resync <- struct{}{} // as publish does for a stream behind
		}
	}
	feed.mu.Unlock()
	if got := next(); got != "event resync {}" {
		t.Errorf("a stream behind: %s", got)
	}
	close(feed.done)
	if got := next(); got != "closed" {
		t.Errorf("after the server stopped: %s", got)
	}
}

// revocable knows one token and lets its user read, until revoked: then the token is
// refused or the rights are gone.
type revocable struct {
	token, rights atomic.Bool
}

func (v *revocable) Authenticate(_ context.Context, token string) (User, error) {
	if token != "good" || v.token.Load() {
		return User{}, ErrUnauthenticated
	}
	return User{Name: "alice"}, nil
}

func (v *revocable) Authorize(context.Context, User, Access) (bool, string, error) {
	return !v.rights.Load(), "", nil
}

// TestWatchEndsWhenTheCallerMayNoLonger: a stream whose token is refused, or whose
// user lost the right to list, ends at the next review.
func TestWatchEndsWhenTheCallerMayNoLonger(t *testing.T) {
	for _, what := range []string{"token", "rights"} {
		var now atomic.Int64
		now.Store(time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC).UnixNano())
		reviews := &revocable{}
		feed := NewFeed(fakeCache(t))
		feed.heartbeat = 20 * time.Millisecond
		srv := httptest.NewServer((&API{Client: feed.reader, Feed: feed, Reviews: reviews,
			Now: func() time.Time { return time.Unix(0, now.Load()) }}).Handler())
		next := openWatch(t, srv)
		if got := next(); got != "event comment watching" {
			t.Fatalf("%s: first %s", what, got)
		}
		if what == "token" {
			reviews.token.Store(true)
		} else {
			reviews.rights.Store(true)
		}
		now.Add(int64(time.Minute)) // past the reviews the server remembers
		got := next()
		for got == "event comment heartbeat" {
			got = next()
		}
		if got != "closed" {
			t.Errorf("%s revoked: %s", what, got)
		}
		srv.Close()
	}
}

// TestWatchOutlivesTheReadTimeout: a stream goes on past the server's ReadTimeout (ferry
// server sets one minute), which would otherwise end it.
func TestWatchOutlivesTheReadTimeout(t *testing.T) {
	feed := NewFeed(fakeCache(t))
	feed.heartbeat = 100 * time.Millisecond
	srv := httptest.NewUnstartedServer((&API{Client: feed.reader, Feed: feed, Reviews: readers{}}).Handler())
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	defer srv.Close()
	next := openWatch(t, srv)
	for i := 0; i < 10; i++ { // a second of heartbeats
		if got := next(); got != "event comment watching" && got != "event comment heartbeat" {
			t.Fatalf("after %d heartbeats: %s", i, got)
		}
	}
	close(feed.done)
}
