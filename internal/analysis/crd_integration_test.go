//go:build integration

package analysis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// TestTemplateSchema: a real API server stores a good AnalysisTemplate with its default
// interval, and refuses an empty query and a sub-second interval with the CRD's messages.
func TestTemplateSchema(t *testing.T) {
	rc := testenv.Start(t, "../../config/crd")
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tpl := func(name, query string, interval time.Duration) *ferryv1.AnalysisTemplate {
		t := &ferryv1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: ferryv1.AnalysisTemplateSpec{SLIs: map[string]string{"error_rate": query}, SLO: "objectives: [{sli: error_rate}]"}}
		if interval > 0 {
			t.Spec.Interval = &metav1.Duration{Duration: interval}
		}
		return t
	}
	good := tpl("good", "sum(rate(x[$interval]))", 0)
	if err := c.Create(ctx, good); err != nil {
		t.Fatal(err)
	}
	if good.Spec.Interval == nil || good.Spec.Interval.Duration != time.Minute {
		t.Errorf("default interval %v, want 1m", good.Spec.Interval)
	}
	for _, bad := range []struct {
		t    *ferryv1.AnalysisTemplate
		want string
	}{
		{tpl("empty", "", 30*time.Second), "every SLI needs a query"},
		{tpl("fast", "up", 500*time.Millisecond), "interval must be a duration of at least 1s"},
	} {
		if err := c.Create(ctx, bad.t); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.t.Name, err, bad.want)
		}
	}
}
