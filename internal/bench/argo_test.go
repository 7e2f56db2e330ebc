package bench

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// rolloutAt is a Rollout's status as Argo Rollouts writes it, read back through
// toRollout as the benchmark reads the watch.
func rolloutAt(t *testing.T, status map[string]any) rolloutState {
	t.Helper()
	r, err := toRollout(&unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "canary", "generation": int64(3)}, "status": status}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPromoted(t *testing.T) {
	done := func() map[string]any {
		return map[string]any{"observedGeneration": "3", "phase": "Healthy", "stableRS": "new", "currentPodHash": "new",
			"currentStepIndex": int64(4), "replicas": int64(5), "updatedReplicas": int64(5), "readyReplicas": int64(5), "availableReplicas": int64(5)}
	}
	for _, c := range []struct {
		name   string
		change func(map[string]any)
		before string
		want   bool
	}{
		{"fully promoted", func(map[string]any) {}, "old", true},
		{"first version", func(map[string]any) {}, "", true},
		{"still the old stable version", func(s map[string]any) { s["stableRS"], s["currentPodHash"] = "old", "old" }, "old", false},
		{"status of the previous generation", func(s map[string]any) { s["observedGeneration"] = "2" }, "old", false},
		{"paused on a step", func(s map[string]any) { s["phase"], s["stableRS"] = "Paused", "old" }, "old", false},
		{"last step passed, not yet stable", func(s map[string]any) { s["stableRS"] = "old" }, "old", false},
		{"updated pods not yet available", func(s map[string]any) { s["availableReplicas"] = int64(4) }, "old", false},
		{"old pods still terminating", func(s map[string]any) { s["phase"] = "Progressing"; s["replicas"] = int64(6) }, "old", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := done()
			c.change(s)
			if got := promoted(rolloutAt(t, s), 3, c.before); got != c.want {
				t.Errorf("promoted = %t, want %t", got, c.want)
			}
		})
	}
}
