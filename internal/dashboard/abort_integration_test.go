//go:build integration

package dashboard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// TestAbortFromTheDeliveryPage runs the controller: a Release waits for approval in
// prod. A person who may patch Promotions opens its delivery page, is told an abort
// needs a reason, aborts with one, and watches the delivery end Failed without reloading
// the page; the abort is recorded in their name (the admission policy accepted it) and
// the control section then says who aborted and why. A canary waits for no person here,
// so no resume button shows.
func TestAbortFromTheDeliveryPage(t *testing.T) {
	s := startStack(t)
	s.runController(t, "team", "web-prod")
	s.waitPolicyActive(t)
	s.env.Grant(t, "ferry-aborter", []rbacv1.PolicyRule{{APIGroups: []string{"ferry.dev"}, Resources: []string{"promotions"},
		Verbs: []string{"get", "list", "patch"}}}, approvers)
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

	b := newBrowser(t, s.url)
	b.signIn(s.token(t, "approvers", "otto"), "/ns/team/promotions/"+name)
	b.waitFor("the abort button", `!!document.querySelector("#abort").offsetParent && !document.querySelector("#abort").disabled`, 10*time.Second)
	if eval[bool](b, `!!document.querySelector("#resume").offsetParent`) {
		t.Error("a resume button shows while nothing waits for a person")
	}
	b.do("aborting without a reason", chromedp.Click(chromedp.CSS("#abort")))
	if got := b.text("#override-note"); got != "An abort needs a reason." {
		t.Errorf("an abort without a reason: %q", got)
	}
	b.do("aborting",
		chromedp.SendKeys(chromedp.CSS("#override-reason"), "the release notes are wrong"),
		chromedp.Click(chromedp.CSS("#abort")))
	b.waitFor("the delivery to fail", `document.querySelector("#phase").dataset.phase === "Failed"`, 30*time.Second)
	if got := b.text("#override-note"); got != "Aborted." {
		t.Errorf("the note after the abort: %q", got)
	}
	if eval[bool](b, `!!document.querySelector("#abort").offsetParent`) {
		t.Error("the abort button still shows once the delivery ended")
	}
	b.screenshot("aborted")
	b.noErrors()

	p := &ferryv1.Promotion{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: "team", Name: name}, p))
	if a := p.Spec.Abort; a == nil || a.User != "system:serviceaccount:approvers:otto" || a.Reason != "the release notes are wrong" {
		t.Errorf("spec.abort %+v", a)
	}
	if !strings.Contains(p.Status.Message, "aborted by system:serviceaccount:approvers:otto: the release notes are wrong") {
		t.Errorf("the promotion's message: %q", p.Status.Message)
	}
}

const pausedAppFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-prod
  releaseType:
    deployTimeout: 120
    strategy: canary
    canary: {steps: [{setWeight: 50}, {pause: {}}]}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  stages:
    - {name: prod, flows: [release], target: [{cluster_id: [local]}]}
`

// TestResumeFromTheDeliveryPage: 1.1.0's canary waits for a person in prod. Its delivery
// page shows the resume button beside abort; a person who may patch Promotions resumes
// with a reason and watches the canary promoted to Succeeded.
func TestResumeFromTheDeliveryPage(t *testing.T) {
	s := startStack(t)
	s.runController(t, "team", "web-prod")
	s.waitPolicyActive(t)
	s.env.Grant(t, "ferry-resumer", []rbacv1.PolicyRule{{APIGroups: []string{"ferry.dev"}, Resources: []string{"promotions"},
		Verbs: []string{"get", "list", "patch"}}}, approvers)
	ctx, c := s.ctx, s.c
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"},
		Spec: ferryv1.ApplicationSpec{AppFile: pausedAppFile, Stages: []ferryv1.StageSpec{
			{Name: "prod", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}}}))
	for i, v := range []string{"1.0.0", "1.1.0"} {
		must(t, c.Create(ctx, &ferryv1.Release{
			ObjectMeta: metav1.ObjectMeta{Name: "web-" + strings.ReplaceAll(v, ".", "-"), Namespace: "team", Labels: map[string]string{ferryv1.LabelApplication: "web"}},
			Spec: ferryv1.ReleaseSpec{Application: "web", Version: v, Flow: "release", AppFile: pausedAppFile,
				Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/web", Tag: v, Digest: "sha256:" + strings.Repeat(string(rune('7'+i)), 64)}}},
		}))
		if v == "1.0.0" {
			waitPhase(t, s, "web-1-0-0-prod", ferryv1.PromotionSucceeded)
		}
	}
	const name = "web-1-1-0-prod"
	b := newBrowser(t, s.url)
	b.signIn(s.token(t, "approvers", "rita"), "/ns/team/promotions/"+name)
	b.waitFor("the resume button", `!!document.querySelector("#resume").offsetParent && !!document.querySelector("#abort").offsetParent`, 30*time.Second)
	b.do("resuming",
		chromedp.SendKeys(chromedp.CSS("#override-reason"), "the canary's dashboards are fine"),
		chromedp.Click(chromedp.CSS("#resume")))
	b.waitFor("the delivery to succeed", `document.querySelector("#phase").dataset.phase === "Succeeded"`, 30*time.Second)
	if got := b.text("#override-note"); got != "Resumed." {
		t.Errorf("the note after the resume: %q", got)
	}
	b.screenshot("resumed")
	b.noErrors()
	p := &ferryv1.Promotion{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: "team", Name: name}, p))
	if r := p.Spec.Resume; r == nil || r.User != "system:serviceaccount:approvers:rita" || r.Step != 1 {
		t.Errorf("spec.resume %+v", r)
	}
}
