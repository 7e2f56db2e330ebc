package promotion

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// TestGivenBefore: decisions in the same second keep the order the API server stored them.
func TestGivenBefore(t *testing.T) {
	sec := metav1.Unix(100, 0)
	d := func(name, rv string, at metav1.Time) *ferryv1.ApprovalDecision {
		return &ferryv1.ApprovalDecision{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv, CreationTimestamp: at}}
	}
	for _, c := range []struct {
		a, b *ferryv1.ApprovalDecision
		want bool
	}{
		{d("z", "9", metav1.Unix(99, 0)), d("a", "1", sec), true},
		{d("z", "10", sec), d("a", "9", sec), false},
		{d("z", "9", sec), d("a", "10", sec), true},
		{d("a", "x", sec), d("b", "y", sec), true},
	} {
		if got := givenBefore(c.a, c.b); got != c.want {
			t.Errorf("%s/%s before %s/%s: %v", c.a.Name, c.a.ResourceVersion, c.b.Name, c.b.ResourceVersion, got)
		}
	}
}
