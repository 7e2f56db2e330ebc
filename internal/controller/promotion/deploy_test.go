package promotion

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRunsVersion: a Deployment counts for a version only by its label, so a watched
// copy from before the apply (complete, but of the old version) is not taken for done.
func TestRunsVersion(t *testing.T) {
	for _, c := range []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"app.kubernetes.io/version": "1.1.0"}, true},
		{map[string]string{"app.kubernetes.io/version": "1.0.0"}, false},
		{map[string]string{"ferry.dev/version": "1.1.0", "app.kubernetes.io/version": "chart-7"}, true},
		{map[string]string{"ferry.dev/version": "1.0.0", "app.kubernetes.io/version": "1.1.0"}, false},
		{nil, false},
	} {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Labels: c.labels}}
		if got := runsVersion(d, "1.1.0"); got != c.want {
			t.Errorf("%v: %v, want %v", c.labels, got, c.want)
		}
	}
}
