package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// countingReviewer allows what its rule says and counts the reviews asked.
type countingReviewer struct {
	allow   func(User, Access) bool
	reviews int
}

func (c *countingReviewer) Authenticate(context.Context, string) (User, error) {
	return User{}, ErrUnauthenticated
}

func (c *countingReviewer) Authorize(_ context.Context, u User, a Access) (bool, string, error) {
	c.reviews++
	if c.allow(u, a) {
		return true, "", nil
	}
	return false, "no rule", nil
}

// TestAccessAnswersAreCachedBriefly: the same question of the same user is reviewed
// once within the TTL, refusals too; another user, other groups or another access are
// reviewed on their own; after the TTL the question is asked again.
func TestAccessAnswersAreCachedBriefly(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	rv := &countingReviewer{allow: func(u User, a Access) bool { return u.Name == "ann" && a.Namespace == "team" }}
	a := &API{Reviews: rv, Now: func() time.Time { return now }}
	a.Handler()
	ctx := context.Background()
	ann := User{Name: "ann", Groups: []string{"leads", "system:authenticated"}}
	list := Access{Verb: "list", Resource: "applications", Namespace: "team"}
	ask := func(u User, acc Access, want bool, reviews int) {
		t.Helper()
		ok, _, err := a.authorize(ctx, u, acc)
		if err != nil || ok != want || rv.reviews != reviews {
			t.Fatalf("%s %s: allowed %v (%v), %d reviews; want %v, %d", u.Name, acc, ok, err, rv.reviews, want, reviews)
		}
	}
	ask(ann, list, true, 1)
	ask(User{Name: "ann", Groups: []string{"system:authenticated", "leads"}}, list, true, 1) // the groups' order is no matter
	ask(User{Name: "ann", Groups: []string{"leads"}}, list, true, 2)
	ask(User{Name: "bob", Groups: ann.Groups}, list, false, 3)
	ask(User{Name: "bob", Groups: ann.Groups}, list, false, 3)
	ask(ann, Access{Verb: "list", Resource: "applications", Namespace: "other"}, false, 4)
	ask(ann, Access{Verb: "get", Resource: "applications", Namespace: "team", Name: "shop"}, true, 5)
	now = now.Add(reviewTTL)
	ask(ann, list, true, 6)
}

// TestRefusedReadSaysWhy: a refused review is a 403 naming the user and the access.
func TestRefusedReadSaysWhy(t *testing.T) {
	a := &API{Reviews: &countingReviewer{allow: func(User, Access) bool { return false }}}
	a.Handler()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(context.WithValue(req.Context(), userKey{}, User{Name: "eve"}))
	rec := httptest.NewRecorder()
	if a.allow(rec, req, Access{Verb: "list", Resource: "promotions", Namespace: "team"}) || rec.Code != http.StatusForbidden {
		t.Fatalf("allowed, or %d", rec.Code)
	}
	if want := `{"error":"user \"eve\" may not list promotions.ferry.dev in namespace \"team\": no rule"}` + "\n"; rec.Body.String() != want {
		t.Errorf("got  %s want %s", rec.Body, want)
	}
}
