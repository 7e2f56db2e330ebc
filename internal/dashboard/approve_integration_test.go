//go:build integration

package dashboard_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

const webAppFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-prod
  releaseType: {deployTimeout: 120}
  helm:
    values:
      scaling: {enabled: false, min: 1}
  stages:
    - {name: prod, flows: [release], target: [{cluster_id: [local]}], approvers: {groups: ["` + approvers + `"]}}
`

// TestApproveFromTheDeliveryPage runs the controller: a Release waits for approval in
// prod. A viewer opens its delivery page and sees no approve button, only why, and the
// API refuses their approval with 403. An approver (a ServiceAccount in the approver
// group) opens the same page, approves with a reason, and watches the delivery go on
// to Succeeded without reloading the page: the live stream brings each change. The next
// Release they reject with a reason, and it fails.
func TestApproveFromTheDeliveryPage(t *testing.T) {
	s := startStack(t)
	s.runController(t, "team", "web-prod")
	s.waitPolicyActive(t)
	ctx, c := s.ctx, s.c
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"},
		Spec: ferryv1.ApplicationSpec{AppFile: webAppFile, Stages: []ferryv1.StageSpec{
			{Name: "prod", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}, ApproverGroups: []string{approvers}}}}}))
	must(t, c.Create(ctx, &ferryv1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1-0-0", Namespace: "team", Labels: map[string]string{ferryv1.LabelApplication: "web"}},
		Spec: ferryv1.ReleaseSpec{Application: "web", Version: "1.0.0", Flow: "release", AppFile: webAppFile,
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/web", Tag: "1.0.0", Digest: "sha256:" + strings.Repeat("7", 64)}}},
	}))
	const name = "web-1-0-0-prod"
	waitPhase(t, s, name, ferryv1.PromotionWaitingApproval)
	page := "/ns/team/promotions/" + name
	approve := "/api/v1/namespaces/team/applications/web/stages/prod/approve"

	vera := s.token(t, "viewers", "vera")
	ann := s.token(t, "approvers", "ann")
	s.waitAPI(t, "/api/v1/namespaces/team/applications/web/stages/prod/approval", vera, func(body string) error {
		if !strings.Contains(body, `"waiting":true`) {
			return fmt.Errorf("not waiting yet: %s", body)
		}
		return nil
	})

	t.Run("a viewer sees no button and may not approve", func(t *testing.T) {
		b := newBrowser(t, s.url)
		b.signIn(vera, "/ns/team")
		b.waitFor("the approval badge on the board", `!!document.querySelector('[data-app="web"] [data-stage="prod"] .badge.wait')`, 10*time.Second)
		b.open(page)
		b.waitFor("the approval section", `!document.querySelector("#approval").hidden && !!document.querySelector("#approval .why")`, 10*time.Second)
		if why := b.text("#approval .why"); !strings.Contains(why, "not in an approver group") {
			t.Errorf("the viewer is told %q", why)
		}
		if shown := eval[bool](b, `!!document.querySelector("#approve").offsetParent || !!document.querySelector("#reject").offsetParent`); shown {
			t.Error("the viewer sees the approve or reject button")
		}
		b.screenshot("viewer")
		b.noErrors()
		status, body := s.call(t, http.MethodPost, approve, vera, `{"reason": "looks good to me"}`)
		if status != http.StatusForbidden || !strings.Contains(body, `"error"`) {
			t.Errorf("the viewer's approval: %d %s, want 403 with an error", status, body)
		}
	})

	t.Run("an approver approves and watches the delivery go on", func(t *testing.T) {
		b := newBrowser(t, s.url)
		b.signIn(ann, page)
		b.waitFor("the approve button", `!!document.querySelector("#approve").offsetParent && !document.querySelector("#approve").disabled`, 10*time.Second)
		if got := b.text("#phase"); got != "WaitingApproval" {
			t.Errorf("the phase reads %q", got)
		}
		// Each phase the page shows is noted; a mark on window tells that the page was
		// never loaded again.
		b.do("watching the phase", chromedp.Evaluate[chromedp.Void](`window.__samePage = true; window.__phases = [document.querySelector("#phase").dataset.phase];
			new MutationObserver(() => { const p = (document.querySelector("#phase") || {dataset: {}}).dataset.phase;
				if (p && window.__phases[window.__phases.length - 1] !== p) window.__phases.push(p); })
				.observe(document.querySelector(".delivery-head"), {childList: true, subtree: true});`))
		b.screenshot("approver-before")
		b.do("rejecting without a reason", chromedp.Click(chromedp.CSS("#reject")))
		if got := b.text(".decision-note"); got != "A rejection needs a reason." {
			t.Errorf("a rejection without a reason: %q", got)
		}
		b.do("approving",
			chromedp.SendKeys(chromedp.CSS("#reason"), "canary dashboards look fine"),
			chromedp.Click(chromedp.CSS("#approve")))
		b.waitFor("the approval recorded", `document.querySelector(".decision-note").innerText === "Approved."`, 10*time.Second)
		b.waitFor("the delivery to succeed", `document.querySelector("#phase").dataset.phase === "Succeeded"`, 90*time.Second)
		phases := eval[[]string](b, `window.__phases`)
		t.Logf("the page showed the phases %v", phases)
		if !eval[bool](b, `window.__samePage === true`) {
			t.Error("the page was loaded again")
		}
		if len(phases) < 2 || phases[0] != "WaitingApproval" || phases[len(phases)-1] != "Succeeded" {
			t.Errorf("phases shown %v, want WaitingApproval ... Succeeded", phases)
		}
		for _, step := range []string{"approval", "deploy", "done"} {
			if got := eval[string](b, fmt.Sprintf(`(document.querySelector('[data-checkpoint=%q]') || {dataset: {}}).dataset.phase || ""`, step)); got != "Succeeded" {
				t.Errorf("the timeline's %s step: %q", step, got)
			}
		}
		if got := b.text("#approvals"); !strings.Contains(got, "system:serviceaccount:approvers:ann") {
			t.Errorf("approvals given: %q", got)
		}
		b.screenshot("approver-after")
		b.noErrors()

		d := &ferryv1.ApprovalDecisionList{}
		must(t, c.List(ctx, d, client.InNamespace("team")))
		if len(d.Items) != 1 || d.Items[0].Spec.User != "system:serviceaccount:approvers:ann" || d.Items[0].Spec.Reason != "canary dashboards look fine" {
			t.Errorf("decisions recorded: %+v", d.Items)
		}
	})

	t.Run("an approver rejects the next release", func(t *testing.T) { rejectNext(t, s, ann) })
}

// rejectNext: the next Release waits in prod; the approver rejects it with a reason from
// its page, and watches it end Failed, the reason kept.
func rejectNext(t *testing.T, s *stack, token string) {
	must(t, s.c.Create(s.ctx, &ferryv1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1-1-0", Namespace: "team", Labels: map[string]string{ferryv1.LabelApplication: "web"}},
		Spec: ferryv1.ReleaseSpec{Application: "web", Version: "1.1.0", Flow: "release", AppFile: webAppFile,
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/web", Tag: "1.1.0", Digest: "sha256:" + strings.Repeat("8", 64)}}},
	}))
	const name = "web-1-1-0-prod"
	waitPhase(t, s, name, ferryv1.PromotionWaitingApproval)
	b := newBrowser(t, s.url)
	b.signIn(token, "/ns/team/promotions/"+name)
	b.waitFor("the reject button", `!!document.querySelector("#reject").offsetParent && !document.querySelector("#reject").disabled`, 10*time.Second)
	b.do("rejecting",
		chromedp.SendKeys(chromedp.CSS("#reason"), "the error budget is spent"),
		chromedp.Click(chromedp.CSS("#reject")))
	b.waitFor("the rejection recorded", `document.querySelector(".decision-note").innerText === "Rejected."`, 10*time.Second)
	b.waitFor("the delivery to fail", `document.querySelector("#phase").dataset.phase === "Failed"`, 60*time.Second)
	if got := b.text(".delivery-head"); !strings.Contains(got, "the error budget is spent") {
		t.Errorf("the failed delivery reads %q, want the reason", got)
	}
	b.screenshot("rejected")
	b.noErrors()
}

// waitPhase waits until the Promotion reaches the phase.
func waitPhase(t *testing.T, s *stack, name string, phase ferryv1.PromotionPhase) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	p := &ferryv1.Promotion{}
	for {
		err := s.c.Get(s.ctx, client.ObjectKey{Namespace: "team", Name: name}, p)
		if err == nil && p.Status.Phase == phase {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("promotion %s: %v, phase %q, message %q; want %s", name, err, p.Status.Phase, p.Status.Message, phase)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
