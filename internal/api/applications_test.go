package api

import (
	"encoding/json"
	"testing"

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
	got, err := json.Marshal(summarize(app))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"shop","namespace":"team","ready":"True","message":"3 stages","stages":[` +
		`{"name":"dev","release":"shop-1-1-0","version":"1.1.0","activePromotion":"shop-1-1-0-dev"},` +
		`{"name":"stage"},` +
		`{"name":"prod","release":"shop-1-0-0","version":"1.0.0","lastVerifiedRelease":"shop-1-0-0"}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got, _ = json.Marshal(summarize(&ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "team"}}))
	if want := `{"name":"new","namespace":"team","stages":[]}`; string(got) != want {
		t.Errorf("an application without stages: got %s, want %s", got, want)
	}
}

func TestPageSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{{"", defaultPage, true}, {"1", 1, true}, {"500", 500, true}, {"501", 0, false}, {"0", 0, false}, {"-3", 0, false}, {"ten", 0, false}} {
		got, err := pageSize(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("pageSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
