package extension

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

func prom(name string, hooks ...ferryv1.HookStatus) ferryv1.Promotion {
	return ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:   ferryv1.PromotionSpec{Application: "web", Stage: "dev", Release: name + "-rel"},
		Status: ferryv1.PromotionStatus{Hooks: hooks}}
}

func hook(name string, phase ferryv1.HookPhase, at int) ferryv1.HookStatus {
	h := ferryv1.HookStatus{Step: ferryv1.StepPostDeploy, Name: name, Kind: "webhook", Phase: phase, Message: string(phase)}
	if at > 0 {
		h.StartedAt = &metav1.Time{Time: time.Date(2026, 11, 30, 12, at, 0, 0, time.UTC)}
	}
	return h
}

// TestSummarize: the calls of one Extension are counted over the Promotions that made
// them, the failed ones apart, and the latest by start time is shown; hooks of the app
// file and other Extensions do not count.
func TestSummarize(t *testing.T) {
	proms := []ferryv1.Promotion{
		prom("a", hook("ext.perf", ferryv1.HookSucceeded, 1), hook("smoke", ferryv1.HookFailed, 2)),
		prom("c", hook("ext.perf", ferryv1.HookFailed, 3)),
		prom("b", hook("ext.perf", ferryv1.HookWaiting, 5), hook("ext.other", ferryv1.HookFailed, 6)),
		prom("d", hook("perf", ferryv1.HookFailed, 9)), // the app file's hook named perf
	}
	st := Summarize("perf", proms)
	if st.Calls != 3 || st.Failed != 1 {
		t.Errorf("calls %d failed %d, want 3 and 1", st.Calls, st.Failed)
	}
	if l := st.Last; l == nil || l.Promotion != "b" || l.Phase != ferryv1.HookWaiting || l.Release != "b-rel" || l.Stage != "dev" || l.Application != "web" {
		t.Errorf("last %+v, want b's Waiting call", st.Last)
	}
	if st := Summarize("none", proms); st.Calls != 0 || st.Last != nil {
		t.Errorf("an Extension never called: %+v", st)
	}
	// A call not begun yet (no start time) is older than any begun; between two such,
	// the later name, so that the choice does not change from one reconcile to the next.
	st = Summarize("perf", []ferryv1.Promotion{prom("y", hook("ext.perf", ferryv1.HookRunning, 0)), prom("x", hook("ext.perf", ferryv1.HookRunning, 0))})
	if st.Last.Promotion != "y" {
		t.Errorf("last of two unstarted calls: %s, want y", st.Last.Promotion)
	}
	st = Summarize("perf", []ferryv1.Promotion{prom("z", hook("ext.perf", ferryv1.HookRunning, 0)), prom("x", hook("ext.perf", ferryv1.HookSucceeded, 1))})
	if st.Last.Promotion != "x" {
		t.Errorf("last of an unstarted and a started call: %s, want x", st.Last.Promotion)
	}
}
