//go:build integration

package deliverymetrics_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/deliverymetrics"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// TestDORAGauges: the collector reads a real API server's Applications, Promotions
// and Releases and gives each stage its figures; a stage without deliveries has a
// frequency and failure rate of 0 and no lead time or time to restore.
func TestDORAGauges(t *testing.T) {
	env := testenv.StartEnv(t, "../../config/crd")
	c, err := kubeclient.Ferry(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: "build: {artifact: shop}\n", Stages: []ferryv1.StageSpec{
			{Name: "dev", Clusters: []string{"c"}}, {Name: "prod", Clusters: []string{"c"}}}}}))
	at := func(h float64) *metav1.Time {
		x := metav1.NewTime(now.Add(time.Duration(h * float64(time.Hour))))
		return &x
	}
	for i, d := range []struct {
		phase              ferryv1.PromotionPhase
		commit, start, end float64
	}{
		{ferryv1.PromotionSucceeded, -50, -48, -47}, // lead 3h
		{ferryv1.PromotionFailed, -30, -26, -25},    // restored by the next: 24h
		{ferryv1.PromotionSucceeded, -5, -4, -2},    // lead 3h
	} {
		name := fmt.Sprintf("shop-1-%d-0", i)
		rel := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{ferryv1.LabelApplication: "shop"}},
			Spec: ferryv1.ReleaseSpec{Application: "shop", Version: fmt.Sprintf("1.%d.0", i), Flow: "release", AppFile: "build: {artifact: shop}\n",
				Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "r/shop", Digest: "sha256:" + fmt.Sprintf("%064x", i)}},
				Git:    &ferryv1.GitInfo{Commit: fmt.Sprintf("%040x", i), CommittedAt: at(d.commit)}}}
		must(t, c.Create(ctx, rel))
		p := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: name + "-prod", Namespace: "default"},
			Spec: ferryv1.PromotionSpec{Application: "shop", Release: name, Stage: "prod"}}
		must(t, c.Create(ctx, p))
		p.Status.Phase = d.phase
		p.Status.Checkpoints = []ferryv1.Checkpoint{{Name: ferryv1.StepDeploy, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(d.start), FinishedAt: at(d.end)}}
		must(t, c.Status().Update(ctx, p))
	}
	d := &deliverymetrics.DORA{Reader: c, Window: 7 * 24 * time.Hour, Now: func() time.Time { return now }}
	want := `# HELP ferry_dora_change_failure_ratio Failed deployments over all deployments in the window (DORA change failure rate).
# TYPE ferry_dora_change_failure_ratio gauge
ferry_dora_change_failure_ratio{application="shop",namespace="default",stage="dev"} 0
ferry_dora_change_failure_ratio{application="shop",namespace="default",stage="prod"} 0.3333333333333333
# HELP ferry_dora_deployments_per_day Verified deployments a day over the window (DORA deployment frequency).
# TYPE ferry_dora_deployments_per_day gauge
ferry_dora_deployments_per_day{application="shop",namespace="default",stage="dev"} 0
ferry_dora_deployments_per_day{application="shop",namespace="default",stage="prod"} 0.2857142857142857
# HELP ferry_dora_lead_time_seconds Median time from a change's commit to its verification (DORA lead time for changes).
# TYPE ferry_dora_lead_time_seconds gauge
ferry_dora_lead_time_seconds{application="shop",namespace="default",stage="prod"} 10800
# HELP ferry_dora_time_to_restore_seconds Median time from a failed deployment's start to a verified version running again (DORA time to restore).
# TYPE ferry_dora_time_to_restore_seconds gauge
ferry_dora_time_to_restore_seconds{application="shop",namespace="default",stage="prod"} 86400
`
	if err := testutil.CollectAndCompare(d, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
