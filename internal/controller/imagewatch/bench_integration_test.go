//go:build integration

package imagewatch_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// BenchmarkThousandWatches: 1,000 ImageWatches over 10 repositories of Debian's registry,
// each following its repository's tag "stable" every 5 s, through the controller and a
// real API server. The registry's own access log counts the manifest requests of three
// intervals once every watch is Ready; the figure is manifest requests per interval
// (10 is one per repository). Run: make bench-imagewatch.
func BenchmarkThousandWatches(b *testing.B) {
	const repos, perRepo, interval = 10, 100, 5 * time.Second
	rc := testenv.Start(b, "../../../config/crd")
	reg := testenv.StartRegistry(b, false)
	for r := range repos {
		reg.Push(fmt.Sprintf("app%d", r), "stable")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		b.Fatal(err)
	}
	for r := range repos {
		for i := range perRepo {
			if err := c.Create(ctx, &ferryv1.ImageWatch{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d-%d", r, i), Namespace: "default"},
				Spec: ferryv1.ImageWatchSpec{Repository: fmt.Sprintf("%s/app%d", reg.Addr, r), Tag: "stable",
					Interval: &metav1.Duration{Duration: interval}, Application: fmt.Sprintf("app%d", r)}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	start := time.Now()
	testenv.Eventually(b, 2*time.Minute, func() error {
		list := &ferryv1.ImageWatchList{}
		if err := c.List(ctx, list, client.InNamespace("default")); err != nil {
			return err
		}
		n := 0
		for _, iw := range list.Items {
			if apimeta.IsStatusConditionTrue(iw.Status.Conditions, ferryv1.ConditionReady) {
				n++
			}
		}
		if n < repos*perRepo {
			return fmt.Errorf("%d of %d watches ready", n, repos*perRepo)
		}
		return nil
	})
	b.Logf("1,000 watches ready %s after they were made", time.Since(start).Round(time.Millisecond))
	manifests := regexp.MustCompile(`^/v2/app\d+/manifests/`)
	b.ResetTimer()
	for range b.N {
		before := reg.Requests("", manifests)
		time.Sleep(3 * interval)
		perInterval := float64(reg.Requests("", manifests)-before) / 3
		b.ReportMetric(perInterval, "manifest-requests/interval")
		fmt.Printf("1,000 ImageWatches over %d repositories: %.1f manifest requests per %s interval (registry access log)\n", repos, perInterval, interval)
	}
}
