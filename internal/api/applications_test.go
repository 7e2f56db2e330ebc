package api

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// TestSummaryJSON: the stages come in the spec's order with what the status says of
// each; a stage the controller has not reached yet is there with its name alone.
func TestSummaryJSON(t *testing.T) {
	app := &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team"},
		Spec:       ferryv1.ApplicationSpec{Stages: []ferryv1.StageSpec{{Name: "dev"}, {Name: "stage"}, {Name: "prod"}}},
		Status: ferryv1.ApplicationStatus{
			Conditions: []metav1.Condition{{Type: ferryv1.ConditionReady, Status: metav1.ConditionTrue, Message: "3 stages"}},
			Stages: []ferryv1.StageStatus{
				{Name: "prod", CurrentRelease: "shop-1-0-0", CurrentVersion: "1.0.0", LastVerifiedRelease: "shop-1-0-0"},
				{Name: "dev", CurrentRelease: "shop-1-1-0", CurrentVersion: "1.1.0", ActivePromotion: "shop-1-1-0-dev"},
			},
		},
	}
	c := fakeCache(t)
	got := jsonOf(t, must(summarize(context.Background(), c, app)))
	want := `{"name":"shop","namespace":"team","ready":"True","message":"3 stages","stages":[` +
		`{"name":"dev","release":"shop-1-1-0","version":"1.1.0","activePromotion":"shop-1-1-0-dev"},` +
		`{"name":"stage"},` +
		`{"name":"prod","release":"shop-1-0-0","version":"1.0.0","lastVerifiedRelease":"shop-1-0-0"}]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = jsonOf(t, must(summarize(context.Background(), c, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "team"}})))
	if want := `{"name":"new","namespace":"team","stages":[]}`; got != want {
		t.Errorf("an application without stages: got %s, want %s", got, want)
	}
}

func TestPageSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{{"", defaultPage, true}, {"1", 1, true}, {"1000", 1000, true}, {"1001", 0, false}, {"0", 0, false}, {"-3", 0, false}, {"ten", 0, false}} {
		got, err := pageSize(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("pageSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func testPromotion(name, app, stage string, created time.Time, phase ferryv1.PromotionPhase) *ferryv1.Promotion {
	return &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team", CreationTimestamp: metav1.NewTime(created)},
		Spec:   ferryv1.PromotionSpec{Application: app, Release: name, Stage: stage},
		Status: ferryv1.PromotionStatus{Phase: phase}}
}

// TestSummaryShowsTheActiveOrLastPromotion: a stage shows the Promotion under way; else
// its newest one, not an older one nor another stage's or application's.
func TestSummaryShowsTheActiveOrLastPromotion(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team"},
		Spec:   ferryv1.ApplicationSpec{Stages: []ferryv1.StageSpec{{Name: "dev"}, {Name: "prod"}}},
		Status: ferryv1.ApplicationStatus{Stages: []ferryv1.StageStatus{{Name: "dev", ActivePromotion: "shop-2-dev"}}}}
	c := fakeCache(t,
		testPromotion("shop-1-dev", "shop", "dev", t0, ferryv1.PromotionSucceeded),
		testPromotion("shop-2-dev", "shop", "dev", t0.Add(-time.Hour), ferryv1.PromotionWaitingApproval), // active though older
		testPromotion("shop-1-prod", "shop", "prod", t0, ferryv1.PromotionSucceeded),
		testPromotion("shop-2-prod", "shop", "prod", t0.Add(time.Hour), ferryv1.PromotionFailed),
		testPromotion("shopping-3-prod", "shopping", "prod", t0.Add(2*time.Hour), ferryv1.PromotionRunning))
	s := must(summarize(context.Background(), c, app))
	if st := s.Stages[0]; st.Promotion != "shop-2-dev" || !st.WaitingApproval {
		t.Errorf("dev: %+v", st)
	}
	if st := s.Stages[1]; st.Promotion != "shop-2-prod" || st.Phase != ferryv1.PromotionFailed {
		t.Errorf("prod: %+v", st)
	}
}

// TestPageOf: name order, ?q= in any case, and ?continue= goes on after the page before.
func TestPageOf(t *testing.T) {
	var apps []ferryv1.Application
	for _, n := range []string{"web", "Shop-api", "cart", "shop", "billing", "shop-web"} {
		apps = append(apps, ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	names := func(page []*ferryv1.Application) string {
		var out []string
		for _, a := range page {
			out = append(out, a.Name)
		}
		return strings.Join(out, " ")
	}
	page, more := pageOf(apps, "", "", 4)
	if names(page) != "Shop-api billing cart shop" || !more {
		t.Errorf("first page: %s (more %v)", names(page), more)
	}
	page, more = pageOf(apps, "", "shop", 4)
	if names(page) != "shop-web web" || more {
		t.Errorf("second page: %s (more %v)", names(page), more)
	}
	if page, _ = pageOf(apps, "shop", "", 10); names(page) != "Shop-api shop shop-web" {
		t.Errorf("q=shop: %s", names(page))
	}
	after := must(decodeContinue(base64.RawURLEncoding.EncodeToString([]byte("shop"))))
	if _, err := decodeContinue("%%"); after != "shop" || err == nil {
		t.Errorf("continue: %q, %v", after, err)
	}
}
