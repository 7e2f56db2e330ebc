//go:build integration

package application_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/appobject"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// runWithHello runs the controller against a fresh API server until the test ends and
// creates hello's Application there.
func runWithHello(t *testing.T, opts controller.Options) (context.Context, client.Client, *ferryv1.Application) {
	t.Helper()
	rc := testenv.Start(t, "../../../config/crd")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts.MetricsAddr, opts.ProbeAddr, opts.SeveralPerProcess = "0", "0", true
	go func() { done <- controller.Run(ctx, rc, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		t.Fatal(err)
	}
	f, err := appfile.Load("../../../examples/hello", appfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := appobject.Build(f, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	return ctx, c, app
}

// TestOldPromotionsAreCollected keeps two finished Promotions per stage: older finished
// ones are deleted, the one the stage runs and unfinished ones stay.
func TestOldPromotionsAreCollected(t *testing.T) {
	ctx, c, _ := runWithHello(t, controller.Options{PromotionHistory: 2})
	// Promotions of releases that do not exist: the promotion reconciler fails them at
	// once, which is all this test needs of them. v1 succeeded (it is what dev runs).
	for i := 1; i <= 5; i++ {
		p := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("hello-%d-0-0-dev", i), Namespace: "default",
			Labels: map[string]string{ferryv1.LabelApplication: "hello", ferryv1.LabelStage: "dev"}},
			Spec: ferryv1.PromotionSpec{Application: "hello", Release: fmt.Sprintf("hello-%d-0-0", i), Stage: "dev"}}
		if err := c.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			// The reconciler may have failed it already: the test's word is the last.
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				if err := c.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
					return err
				}
				now := metav1.Now()
				p.Status = ferryv1.PromotionStatus{Phase: ferryv1.PromotionSucceeded, Checkpoints: []ferryv1.Checkpoint{{Name: ferryv1.StepDone, Phase: ferryv1.CheckpointSucceeded, FinishedAt: &now}}}
				return c.Status().Update(ctx, p)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(1100 * time.Millisecond) // creation times are kept to the second
	}
	want := []string{"hello-1-0-0-dev", "hello-4-0-0-dev", "hello-5-0-0-dev"}
	var names []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		list := &ferryv1.PromotionList{}
		if err := c.List(ctx, list, client.InNamespace("default")); err != nil {
			t.Fatal(err)
		}
		names = names[:0]
		for _, p := range list.Items {
			names = append(names, p.Name)
		}
		slices.Sort(names)
		if slices.Equal(names, want) {
			break
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("promotions left %v, want %v", names, want)
	}
}
