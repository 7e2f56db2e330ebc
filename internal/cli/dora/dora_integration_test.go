//go:build integration

package dora_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/cli/dora"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// TestFiguresOfAScriptedHistory writes a week of deliveries of shop to a real API
// server, as the controller would have left them (Releases with commit times,
// Promotions with their checkpoints), and checks `ferry dora`'s figures for prod, the
// application's last stage.
func TestFiguresOfAScriptedHistory(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	c, err := kubeclient.Ferry(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: "build: {artifact: shop}\n", Stages: []ferryv1.StageSpec{
			{Name: "dev", Clusters: []string{"c"}}, {Name: "prod", Clusters: []string{"c"}}}}}))
	t0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	h := time.Hour
	// release, commit, stage, result, deploy start, end, rollback verified (0: none)
	history := []struct {
		release        string
		commit         time.Duration
		stage          string
		phase          ferryv1.PromotionPhase
		start, end, rb time.Duration
	}{
		{"shop-1-0-0", 0, "prod", ferryv1.PromotionSucceeded, 2 * h, 3 * h, 0},                                       // lead 3h
		{"shop-1-0-0", 0, "dev", ferryv1.PromotionSucceeded, h, h + 5*time.Minute, 0},                                // another stage
		{"shop-1-1-0", 24 * h, "prod", ferryv1.PromotionFailed, 25 * h, 25*h + 6*time.Minute, 25*h + 20*time.Minute}, // restored in 20m
		{"shop-1-2-0", 48 * h, "prod", ferryv1.PromotionSucceeded, 49 * h, 50 * h, 0},                                // lead 2h
		{"shop-1-3-0", 72 * h, "prod", ferryv1.PromotionFailed, 80 * h, 80*h + 10*time.Minute, 0},                    // restored by the next: 2h
		{"shop-1-4-0", 81 * h, "prod", ferryv1.PromotionSucceeded, 81 * h, 82 * h, 0},                                // lead 1h
	}
	for i, d := range history {
		committed := metav1.NewTime(t0.Add(d.commit))
		rel := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: d.release, Namespace: "default", Labels: map[string]string{ferryv1.LabelApplication: "shop"}},
			Spec: ferryv1.ReleaseSpec{Application: "shop", Version: "1.0.0", Flow: "release", AppFile: "build: {artifact: shop}\n",
				Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "r/shop", Digest: "sha256:" + fmt.Sprintf("%064x", i)}},
				Git:    &ferryv1.GitInfo{Commit: fmt.Sprintf("%040x", i), CommittedAt: &committed}}}
		if d.stage == "prod" {
			must(t, c.Create(ctx, rel))
		}
		p := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%s", d.release, d.stage), Namespace: "default",
			Labels: map[string]string{ferryv1.LabelApplication: "shop", ferryv1.LabelStage: d.stage}},
			Spec: ferryv1.PromotionSpec{Application: "shop", Release: d.release, Stage: d.stage}}
		must(t, c.Create(ctx, p))
		at := func(x time.Duration) *metav1.Time { t := metav1.NewTime(t0.Add(x)); return &t }
		p.Status.Phase = d.phase
		p.Status.Checkpoints = []ferryv1.Checkpoint{{Name: ferryv1.StepDeploy, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(d.start), FinishedAt: at(d.end)}}
		if d.rb != 0 {
			p.Status.Checkpoints = append(p.Status.Checkpoints, ferryv1.Checkpoint{Name: ferryv1.StepRollbackTests, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(d.rb - time.Minute), FinishedAt: at(d.rb)})
		}
		must(t, c.Status().Update(ctx, p))
	}
	f, err := dora.Figures(ctx, c, "default", "shop", "", t0, t0.Add(7*24*h))
	must(t, err)
	var out bytes.Buffer
	must(t, dora.Print(f, "text", &out))
	want := `shop in prod, 2026-11-02 00:00:00 to 2026-11-09 00:00:00:
  deployment frequency   0.43 a day (3 verified of 5 deployments)
  lead time for changes  median 2h0m0s (3 changes)
  change failure rate    40.0% (2 of 5)
  time to restore        median 1h10m0s (2 restored failures)
`
	if out.String() != want {
		t.Errorf("ferry dora:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	must(t, dora.Print(f, "json", &out))
	if !strings.Contains(out.String(), `"changeFailureRate": 0.4`) || !strings.Contains(out.String(), `"timeToRestore": "1h10m0s"`) {
		t.Errorf("json:\n%s", out.String())
	}
	if _, err := dora.Figures(ctx, c, "default", "nothing", "", t0, t0.Add(h)); err == nil || !strings.Contains(err.Error(), "application default/nothing") {
		t.Errorf("an unknown application: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
