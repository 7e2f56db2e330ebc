//go:build integration

package application_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
)

// TestApplicationStatus runs the controller against a real API server: a valid
// Application becomes Ready with one status entry per stage, an invalid one Stalled with
// the app file's problems, and fixing it makes it Ready.
func TestApplicationStatus(t *testing.T) {
	ctx, c, app := runWithHello(t, controller.Options{})
	got := waitCondition(t, c, app.Name, ferryv1.ConditionReady, metav1.ConditionTrue)
	if len(got.Status.Stages) != 3 || got.Status.Stages[2].Name != "prod" || got.Status.ObservedGeneration != got.Generation {
		t.Errorf("status %+v", got.Status)
	}

	// Break the app file: a misspelt key.
	got.Spec.AppFile = strings.Replace(got.Spec.AppFile, "flows:", "flow:", 1)
	if err := c.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	got = waitCondition(t, c, app.Name, ferryv1.ConditionStalled, metav1.ConditionTrue)
	ready := apimeta.FindStatusCondition(got.Status.Conditions, ferryv1.ConditionReady)
	if ready.Status != metav1.ConditionFalse || ready.Reason != ferryv1.ReasonInvalidSpec || !strings.Contains(ready.Message, `unknown field "flow" (did you mean "flows"?)`) {
		t.Errorf("ready condition %+v", ready)
	}

	got.Spec.AppFile = strings.Replace(got.Spec.AppFile, "flow:", "flows:", 1)
	if err := c.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, c, app.Name, ferryv1.ConditionReady, metav1.ConditionTrue)
}

func waitCondition(t *testing.T, c client.Client, name, condType string, want metav1.ConditionStatus) *ferryv1.Application {
	t.Helper()
	app := &ferryv1.Application{}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, app); err != nil {
			continue
		}
		cond := apimeta.FindStatusCondition(app.Status.Conditions, condType)
		if cond != nil && cond.Status == want && cond.ObservedGeneration == app.Generation {
			return app
		}
	}
	t.Fatalf("application %s: %s never became %s; conditions %+v", name, condType, want, app.Status.Conditions)
	return nil
}
