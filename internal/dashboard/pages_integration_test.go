//go:build integration

package dashboard_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/hooklog"
)

const appFile = `build: {buildType: go, artifact: shop}
deploy:
  namespace: shop-prod
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
    - {name: prod, flows: [release], target: [{cluster_id: [local]}]}
`

// TestPagesShowTheDeliveries: a viewer signs in with a ServiceAccount token and sees
// the board (versions, the running step and its progress), narrows it with the search,
// opens a canary delivery whose analysis holds four measurements and sees both medians
// of each judged metric as SVG series with the criterion and the verdict, reads a
// hook's log, and finds the delivery in the application's history. A refused token
// returns to the sign-in form.
func TestPagesShowTheDeliveries(t *testing.T) {
	s := startStack(t)
	writeCanaryDelivery(t, s)
	token := s.token(t, "viewers", "vera")
	s.waitAPI(t, "/api/v1/namespaces/team/applications", token, func(body string) error {
		if !strings.Contains(body, `"shop-2-prod"`) || !strings.Contains(body, `"cart"`) {
			return fmt.Errorf("not yet: %s", body)
		}
		return nil
	})
	b := newBrowser(t, s.url)

	b.signIn(token, "/ns/team")
	b.waitFor("the board's rows", `document.querySelectorAll(".board-spacer .board-row").length === 2`, 10*time.Second)
	if got := b.text(`[data-app="shop"] [data-stage="dev"] .version`); got != "2.0.0" {
		t.Errorf("shop in dev shows %q, want 2.0.0", got)
	}
	prod := b.text(`[data-app="shop"] [data-stage="prod"]`)
	if !strings.Contains(prod, "1.0.0") || !strings.Contains(prod, "deploy") {
		t.Errorf("shop in prod shows %q, want its version 1.0.0 and the running step deploy", prod)
	}
	if got := eval[string](b, `document.querySelector('[data-app="shop"] [data-stage="prod"] [role=progressbar]').getAttribute("aria-valuenow")`); got != "4" {
		t.Errorf("shop's prod progress: %s steps done, want 4 (freeze, upstream, approval, preDeploy)", got)
	}
	if got := b.text(".board-head"); !strings.Contains(got, "dev") || !strings.Contains(got, "prod") {
		t.Errorf("the board's columns: %q", got)
	}
	b.screenshot("board")

	// A change to an application reaches the open board through the live stream.
	b.do("marking the page", chromedp.Evaluate[chromedp.Void](`window.__samePage = true`))
	cart := &ferryv1.Application{}
	must(t, s.c.Get(s.ctx, client.ObjectKey{Namespace: "team", Name: "cart"}, cart))
	cart.Status.Stages[0].CurrentVersion = "2.1.0"
	must(t, s.c.Status().Update(s.ctx, cart))
	b.waitFor("cart's new version in dev", `(document.querySelector('[data-app="cart"] [data-stage="dev"] .version') || {}).innerText === "2.1.0"`, 10*time.Second)
	// The stream breaks, and a change made meanwhile reaches the board once it is back.
	s.hs.CloseClientConnections()
	must(t, s.c.Get(s.ctx, client.ObjectKey{Namespace: "team", Name: "cart"}, cart))
	cart.Status.Stages[0].CurrentVersion = "2.1.1"
	must(t, s.c.Status().Update(s.ctx, cart))
	b.waitFor("cart's version after the stream came back", `(document.querySelector('[data-app="cart"] [data-stage="dev"] .version') || {}).innerText === "2.1.1" &&
		document.querySelector("#live").innerText === "live"`, 20*time.Second)
	if !eval[bool](b, `window.__samePage === true`) {
		t.Error("the board was loaded again")
	}

	b.do("searching", chromedp.SendKeys(chromedp.CSS(`input[type=search]`), "car"))
	b.waitFor("the search", `document.querySelectorAll(".board-spacer .board-row").length === 1 && !!document.querySelector('[data-app="cart"]')`, 10*time.Second)
	if !strings.Contains(eval[string](b, `location.hash`), "q=car") {
		t.Errorf("the search is not in the URL: %s", eval[string](b, `location.hash`))
	}

	b.open("/ns/team/promotions/shop-2-prod")
	b.waitFor("the canary charts", `document.querySelectorAll("figure[data-metric]").length === 2`, 10*time.Second)
	for _, metric := range []string{"latency-p95", "error-rate"} {
		fig := fmt.Sprintf(`figure[data-metric=%q]`, metric)
		for _, series := range []string{"canary", "baseline"} {
			got := eval[string](b, fmt.Sprintf(`(document.querySelector('%s g.series.%s') || {getAttribute: () => "none"}).getAttribute("data-points")`, fig, series))
			circles := eval[int](b, fmt.Sprintf(`document.querySelectorAll('%s g.series.%s circle').length`, fig, series))
			if got != "4" || circles != 4 {
				t.Errorf("%s: the %s series has %s points and %d circles, want 4", metric, series, got, circles)
			}
		}
		if legend := b.text(fig + " .legend"); !strings.Contains(legend, "canary median") || !strings.Contains(legend, "baseline median") {
			t.Errorf("%s: legend %q", metric, legend)
		}
	}
	if got := b.text(`figure[data-metric="latency-p95"] .criterion`); got != "fail when the canary's median is 10% above the baseline's (p < 0.05)" {
		t.Errorf("criterion %q", got)
	}
	if got := b.text(`figure[data-metric="latency-p95"] .verdict`); got != "fail — canary median 135 is 12.5% above the baseline's 120 (p=0.01)" {
		t.Errorf("verdict %q", got)
	}
	// The canary's line climbs away from the baseline's: its last point is drawn higher.
	if higher := eval[bool](b, `(() => { const f = document.querySelector('figure[data-metric="latency-p95"]');
		const last = (s) => [...f.querySelectorAll("g.series." + s + " circle")].pop().getAttribute("cy") * 1;
		return last("canary") < last("baseline"); })()`); !higher {
		t.Error("the canary's last median is not drawn above the baseline's")
	}
	if got := b.text("#timeline"); !strings.Contains(got, "approval") || !strings.Contains(got, "1m 30s") {
		t.Errorf("the timeline shows %q, want the approval step and its 1m 30s", got)
	}
	if got := b.text("#approvals"); !strings.Contains(got, "carol") {
		t.Errorf("approvals %q", got)
	}
	b.screenshot("canary")
	b.darkScreenshot("canary-dark")

	b.do("opening the hook's log", chromedp.Click(chromedp.CSS(`#hooks a[href*="/hooks/smoke"]`)))
	b.waitFor("the hook's log", `(document.querySelector(".hook-log pre") || {}).innerText === "smoke test passed\n"`, 10*time.Second)

	b.open("/ns/team/apps/shop")
	b.waitFor("the history", `document.querySelectorAll(".deliveries tbody tr").length === 2`, 10*time.Second)
	if got := b.text(".deliveries tbody tr:first-child"); !strings.Contains(got, "shop-2-prod") || !strings.Contains(got, "Running") {
		t.Errorf("the newest delivery reads %q", got)
	}
	b.waitFor("the delivery figures", `document.querySelector(".dora").innerText !== ""`, 10*time.Second)
	if got := b.text(".dora"); !strings.HasPrefix(got, "Last 30 days in prod: 0 deployments (0 verified, 0 failed)") {
		t.Errorf("the delivery figures read %q", got)
	}
	b.do("searching the history", chromedp.SendKeys(chromedp.CSS(`.history input[type=search]`), "dev"))
	b.waitFor("the history's search", `document.querySelectorAll(".deliveries tbody tr").length === 1`, 10*time.Second)
	b.screenshot("history")
	b.noErrors()

	// A token the API refuses: back to the sign-in form, saying why.
	b.do("a bad token", chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("ferry.token", "made-up")`), chromedp.Reload())
	b.waitFor("the sign-in form", `!!document.querySelector(".sign-in .error")`, 10*time.Second)
	if got := b.text(".sign-in .error"); !strings.Contains(got, "refused") {
		t.Errorf("after a refused token: %q", got)
	}
}

// writeCanaryDelivery stores shop (dev runs 2.0.0; prod runs 1.0.0 while shop-2-prod
// deploys 2.0.0 as a canary) and cart, as the controller would have left them.
func writeCanaryDelivery(t *testing.T, s *stack) {
	t.Helper()
	ctx, c := s.ctx, s.c
	now := time.Now().UTC().Truncate(time.Second)
	at := func(d time.Duration) *metav1.Time { return ptr.To(metav1.NewTime(now.Add(d))) }
	for _, name := range []string{"shop", "cart"} {
		app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team"},
			Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{
				{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}},
				{Name: "prod", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}, ApproverGroups: []string{approvers}},
			}}}
		must(t, c.Create(ctx, app))
		app.Status.Stages = []ferryv1.StageStatus{
			{Name: "dev", CurrentRelease: name + "-2", CurrentVersion: "2.0.0", LastVerifiedRelease: name + "-2"},
			{Name: "prod", CurrentRelease: name + "-1", CurrentVersion: "1.0.0", LastVerifiedRelease: name + "-1"},
		}
		if name == "shop" {
			app.Status.Stages[1].ActivePromotion = "shop-2-prod"
		}
		must(t, c.Status().Update(ctx, app))
	}
	for i, stage := range []string{"dev", "prod"} {
		p := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "shop-2-" + stage, Namespace: "team",
			Labels:      map[string]string{ferryv1.LabelApplication: "shop", ferryv1.LabelStage: stage, ferryv1.LabelRelease: "shop-2"},
			Annotations: map[string]string{ferryv1.AnnotationVersion: "2.0.0"}},
			Spec: ferryv1.PromotionSpec{Application: "shop", Release: "shop-2", Stage: stage}}
		must(t, c.Create(ctx, p))
		if i == 0 {
			p.Status = ferryv1.PromotionStatus{Phase: ferryv1.PromotionSucceeded, Checkpoints: []ferryv1.Checkpoint{
				{Name: ferryv1.StepDeploy, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(-time.Hour), FinishedAt: at(-50 * time.Minute)},
				{Name: ferryv1.StepDone, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(-50 * time.Minute), FinishedAt: at(-50 * time.Minute)}}}
			must(t, c.Status().Update(ctx, p))
			continue
		}
		p.Status = canaryStatus(at)
		must(t, c.Status().Update(ctx, p))
		cm := hooklog.Kept{Promotion: p.Name, Step: ferryv1.StepPreDeploy, Hook: "smoke", Job: "shop-prod/smoke", Cluster: "local",
			Log: "smoke test passed\n"}.ConfigMap("team", "shop-2-prod-predeploy-smoke")
		cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: ferryv1.GroupVersion.String(), Kind: "Promotion", Name: p.Name, UID: p.UID}}
		_, err := s.cs.CoreV1().ConfigMaps("team").Create(ctx, cm, metav1.CreateOptions{})
		must(t, err)
	}
}

// canaryStatus is a canary in its second step: approved, the smoke hook passed, four
// measurements judged, the last failing on latency.
func canaryStatus(at func(time.Duration) *metav1.Time) ferryv1.PromotionStatus {
	st := ferryv1.PromotionStatus{Phase: ferryv1.PromotionRunning, Message: "canary step 2 of 4: analysis",
		Checkpoints: []ferryv1.Checkpoint{
			{Name: ferryv1.StepFreeze, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(-10 * time.Minute), FinishedAt: at(-10 * time.Minute)},
			{Name: ferryv1.StepUpstream, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(-10 * time.Minute), FinishedAt: at(-10 * time.Minute)},
			{Name: ferryv1.StepApproval, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(-10 * time.Minute), FinishedAt: at(-510 * time.Second),
				Message: "approved by carol (" + approvers + ")"},
			{Name: ferryv1.StepPreDeploy, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(-510 * time.Second), FinishedAt: at(-8 * time.Minute)},
			{Name: ferryv1.StepDeploy, Phase: ferryv1.CheckpointRunning, StartedAt: at(-8 * time.Minute)},
		},
		Approvals: []ferryv1.Approval{{User: "carol", Group: approvers, Time: *at(-510 * time.Second)}},
		Hooks: []ferryv1.HookStatus{{Step: ferryv1.StepPreDeploy, Name: "smoke", Kind: ferryv1.HookKindJob, Phase: ferryv1.HookSucceeded,
			StartedAt: at(-510 * time.Second), Job: "shop-prod/smoke", Logs: []string{"shop-2-prod-predeploy-smoke"}}},
		Canary: &ferryv1.CanaryStatus{Phase: ferryv1.CanaryProgressing, StableVersion: "1.0.0", StableReplicas: 4, Step: 2, Weight: 25,
			CanaryReplicas: 1, StableReplicasNow: 3, Baseline: true, BaselineReplicas: 1},
	}
	// Latency: the canary's median climbs 120, 125, 130, 135 ms while the baseline's
	// stays at 120; errors stay level.
	for i := range 4 {
		latency := ferryv1.JudgeVerdict{Name: "latency-p95", Result: "pass", CanaryCount: 30, BaselineCount: 30,
			CanaryMedian: fmt.Sprint(120 + 5*i), BaselineMedian: "120", PValue: "0.2", Effect: fmt.Sprintf("%.3f", float64(5*i)/120),
			Criterion: "fail when the canary's median is 10% above the baseline's (p < 0.05)", Reason: "within bounds"}
		if i == 3 {
			latency.Result, latency.PValue, latency.Reason = "fail", "0.01", "canary median 135 is 12.5% above the baseline's 120 (p=0.01)"
		}
		errs := ferryv1.JudgeVerdict{Name: "error-rate", Result: "pass", CanaryCount: 30, BaselineCount: 30,
			CanaryMedian: "0.004", BaselineMedian: fmt.Sprintf("0.00%d", 3+i%2), Criterion: "fail when the canary's median is above the baseline's (p < 0.05)",
			Reason: "no difference"}
		v := ferryv1.AnalysisVerdict{Step: fmt.Sprintf("canary-%d", 1+i/2), Template: "shop-judge", Cluster: "local", Measurement: int32(1 + i%2),
			Result: latency.Result, At: *at(time.Duration(i-4) * time.Minute), Judge: []ferryv1.JudgeVerdict{latency, errs}}
		if i == 3 {
			v.Objectives = []ferryv1.ObjectiveVerdict{{SLI: "error_rate", Value: "0.004", Status: "pass", Score: "1", Criteria: []string{"<=0.01 (0.01): met"}}}
			v.Score = "100"
		}
		st.Analyses = append(st.Analyses, v)
	}
	return st
}
