//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/appobject"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/cli/history"
	"ferry.dev/ferry/internal/cli/logs"
	"ferry.dev/ferry/internal/cli/status"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/controller/outbox"
	"ferry.dev/ferry/internal/demo"
	"ferry.dev/ferry/internal/imagebuild"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/release"
	"ferry.dev/ferry/internal/testenv"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

const engineNS = "e2e-engine"

// engineApp is hello's delivery through three stages on the dev cluster, each in its own
// namespace: dev deploys by itself, stage waits for one approver, prod for two approver
// groups. The Release's tests image runs after each deployment.
const engineApp = `profiles: [go-service]
build: {buildType: go, artifact: hello}
deploy:
  namespace: e2e-hello
  releaseType: {deployTimeout: 120}
  createChangeRecord: true
  helm:
    values:
      scaling: {enabled: false, min: 2}
  postDeploy:
    - job: {name: apiprobe, action: create, image: "127.0.0.1:5000/e2e/apiprobe:1", timeoutSeconds: 120, pollPeriodSeconds: 1}
  stages:
    - {name: dev, namespace: e2e-hello-dev, flows: [release], target: [{cluster_id: [dev-local]}]}
    - {name: stage, namespace: e2e-hello-stage, flows: [release], target: [{cluster_id: [dev-local]}], approvers: {groups: [hello-approvers]}}
    - {name: prod, namespace: e2e-hello-prod, flows: [release], target: [{cluster_id: [dev-local]}], approvers: {groups: [hello-leads, hello-sre], quorum: 2}}
`

// testEngine runs the controller against the dev cluster with real pods. Version 3.0.0
// is deployed to dev by itself and passes its post-deploy hook and its tests image (real
// Jobs); stage waits for approval, refuses a user outside the approver group and goes on
// when a member approves; prod needs two distinct members of its two groups. Each stage
// then answers 3.0.0 through its Service. Version 3.1.0, whose answers fail, fails its
// tests in dev: dev returns to 3.0.0 by itself, 3.0.0's tests run again, dev answers
// 3.0.0, and the Promotion says why.
func (e *clusterEnv) testEngine(t *testing.T) {
	events := newEventReceiver()
	defer events.srv.Close()
	smtp := startSMTP(t)
	slack := newFakeSlack()
	defer slack.srv.Close()
	c, err := kubeclient.Ferry(e.rc)
	must(t, err)
	e.createApp(t, c, engineNS, engineApp)
	ctx := e.runController(t, "", "127.0.0.1:19443", outbox.Sink{Name: "receiver", URL: events.srv.URL},
		outbox.Sink{Name: "email", Email: &outbox.Email{Server: smtp.addr, From: "ferry@dev.test", To: []string{"hello-team@dev.test"}}},
		outbox.Sink{Name: "slack", Slack: &outbox.Slack{Channel: "C0HELLO", TokenSecret: e.tokenSecret(t, engineNS), APIURL: slack.srv.URL + "/api"}})

	// The API server refuses what cannot be delivered, naming the field and why.
	e.refused(t, c)

	// The post-deploy hook's image calls the API server; the tests image calls hello.
	e.buildImage(t, "./test/e2e/apiprobe", "e2e/apiprobe:1", "")
	e.buildImage(t, "./examples/hello/smoke", "hello-smoke:1", "")
	e.buildImage(t, "./examples/hello", "hello:3.0.0", "-X main.version=3.0.0")
	start := time.Now()
	v1 := e.release(t, c, engineNS, "3.0.0")
	dev := e.waitPhase(t, c, engineNS, v1.Name+"-dev", ferryv1.PromotionSucceeded, 3*time.Minute)
	t.Logf("release 3.0.0 verified in dev %s after it was created (its hook and tests Jobs included)", time.Since(start).Round(100*time.Millisecond))
	for _, hook := range []string{"apiprobe", "tests"} {
		jobs, err := e.cs.BatchV1().Jobs("e2e-hello-dev").List(ctx, metav1.ListOptions{LabelSelector: "ferry.dev/hook=" + hook})
		must(t, err)
		if len(jobs.Items) != 1 || jobs.Items[0].Status.Succeeded != 1 {
			t.Errorf("%s jobs: %d, want one that succeeded on the real node", hook, len(jobs.Items))
		}
	}
	if checkpointPhase(dev, ferryv1.StepTests) != ferryv1.CheckpointSucceeded {
		t.Errorf("dev tests checkpoint: %+v", dev.Status.Checkpoints)
	}
	e.logsShow(t, dev.Name, "== postDeploy/apiprobe (job ", "status=", "== tests/tests (job ", "ok 5/5: http://hello/info answers 3.0.0")
	e.answers(t, "e2e-hello-dev", "3.0.0")
	e.waitPhase(t, c, engineNS, v1.Name+"-stage", ferryv1.PromotionWaitingApproval, 30*time.Second)

	// `ferry status` shows the stages as a person would read them.
	e.statusShows(t, c, "dev    3.0.0", "stage  -        3.0.0 (WaitingApproval)  approval  0/1 []     waiting for 1 of [hello-approvers] to approve (0 so far)")

	// People approve with kubeconfigs of their own: the API server says who they are.
	e.grantApprovers(t, "hello-approvers", "hello-leads", "hello-sre", "others")
	req := approval.Request{Namespace: engineNS, Application: "hello", Stage: "stage", Decision: ferryv1.DecisionApprove}
	if err := e.decideAs(t, "mallory", "others", req); err == nil || !strings.Contains(err.Error(), "mallory is not in an approver group of stage stage") {
		t.Errorf("mallory: %v", err)
	}
	must(t, e.decideAs(t, "alice", "hello-approvers", req))
	e.waitPhase(t, c, engineNS, v1.Name+"-stage", ferryv1.PromotionSucceeded, 2*time.Minute)
	e.answers(t, "e2e-hello-stage", "3.0.0")

	prod := e.waitPhase(t, c, engineNS, v1.Name+"-prod", ferryv1.PromotionWaitingApproval, 30*time.Second)
	req.Stage = "prod"
	must(t, e.decideAs(t, "bob", "hello-leads", req))
	// Refused either way: by the approval the Promotion already counts, or, before the
	// controller counted it, by the decision object that exists.
	if err := e.decideAs(t, "bob", "hello-leads", req); err == nil ||
		!strings.Contains(err.Error(), "bob has already approved") && !strings.Contains(err.Error(), "bob has already decided on "+v1.Name+"-prod") {
		t.Errorf("bob twice: %v", err)
	}
	e2ekit.Eventually(t, 30*time.Second, "prod counts bob once", func() error {
		must(t, c.Get(ctx, client.ObjectKey{Namespace: engineNS, Name: v1.Name + "-prod"}, prod))
		if len(prod.Status.Approvals) != 1 || prod.Status.Phase != ferryv1.PromotionWaitingApproval {
			return fmt.Errorf("phase %s, approvals %+v", prod.Status.Phase, prod.Status.Approvals)
		}
		return nil
	})
	must(t, e.decideAs(t, "carol", "hello-sre", req))
	prod = e.waitPhase(t, c, engineNS, v1.Name+"-prod", ferryv1.PromotionSucceeded, 2*time.Minute)
	if len(prod.Status.Approvals) != 2 || prod.Status.Approvals[0].User != "bob" || prod.Status.Approvals[1].User != "carol" {
		t.Errorf("prod approvals recorded: %+v", prod.Status.Approvals)
	}
	e.answers(t, "e2e-hello-prod", "3.0.0")

	// 3.1.0 answers every request with an error: its tests fail in dev and dev returns.
	e.buildImage(t, "./examples/hello", "hello:3.1.0", "-X main.version=3.1.0", "HELLO_ERROR_RATE=1")
	v2 := e.release(t, c, engineNS, "3.1.0")
	failed := e.waitPhase(t, c, engineNS, v2.Name+"-dev", ferryv1.PromotionFailed, 4*time.Minute)
	if failed.Status.RollbackTo != v1.Name || !strings.HasPrefix(failed.Status.Message, "tests failed: hook tests (job e2e-hello-dev/") ||
		!strings.HasSuffix(failed.Status.Message, "rolled back to 3.0.0, whose tests passed") {
		t.Errorf("failed promotion: rollbackTo %q, message %q", failed.Status.RollbackTo, failed.Status.Message)
	}
	t.Logf("3.1.0 in dev: %s", failed.Status.Message)
	e.answers(t, "e2e-hello-dev", "3.0.0")
	e.statusShows(t, c, "dev    3.0.0", "3.1.0 failed: tests failed: hook tests (job e2e-hello-dev/")
	jobs, err := e.cs.BatchV1().Jobs("e2e-hello-dev").List(ctx, metav1.ListOptions{LabelSelector: "ferry.dev/step=rollbackTests,ferry.dev/release=" + v1.Name})
	must(t, err)
	if len(jobs.Items) != 2 {
		t.Errorf("3.0.0's hook and tests after the rollback: %d jobs, want 2", len(jobs.Items))
	}
	for _, j := range jobs.Items {
		if j.Status.Succeeded != 1 {
			t.Errorf("rollback job %s did not succeed", j.Name)
		}
	}

	// Every step reached the event sink, in order, and the change records closed.
	e.checkEvents(t, events, v1.Name, v2.Name)
	e.checkChangeRecords(t, c, v1.Name, v2.Name)
	e.checkMail(t, smtp)
	e.checkSlack(t, slack)

	// `ferry history` lists the promotions newest first, with approvers and the failure.
	var out bytes.Buffer
	must(t, history.Print(ctx, c, engineNS, "hello", "", &out))
	t.Logf("ferry history hello:\n%s", out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || !strings.Contains(lines[1], "dev    3.1.0    Failed") || !strings.Contains(lines[2], "prod   3.0.0    Succeeded") ||
		!strings.Contains(lines[2], "bob (hello-leads), carol (hello-sre)") || !strings.Contains(lines[4], "dev    3.0.0    Succeeded") {
		t.Errorf("ferry history:\n%s", out.String())
	}
}

// runController runs the controller in this process for namespace ns ("" for all), with
// its admission webhook on webhookAddr, until the test ends.
func (e *clusterEnv) runController(t *testing.T, ns, webhookAddr string, sinks ...outbox.Sink) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, e.rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", Namespace: ns, SeveralPerProcess: true,
			WebhookAddr: webhookAddr, EventSinks: sinks})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
	return ctx
}

// createApp makes the namespace ns with the Cluster dev-local (the dev cluster itself)
// and the Application of the app file, as `ferry apply` does.
func (e *clusterEnv) createApp(t *testing.T, c client.Client, ns, appFile string) {
	t.Helper()
	ctx := context.Background()
	_, err := e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	must(t, err)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "dev-local", Namespace: ns}}))
	f, err := appfile.LoadBytes("ferry.yml", []byte(appFile), e.repo, appfile.Options{})
	must(t, err)
	app, err := appobject.Build(f, ns, nil)
	must(t, err)
	must(t, c.Create(ctx, app))
}

// refused checks that the dev cluster's API server refuses a Promotion to an unknown
// stage (through Ferry's admission webhook) and a malformed Release (through the CRD).
func (e *clusterEnv) refused(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	want := `spec.stage: application hello has no stage "qa" (its stages: dev, stage, prod)`
	e2ekit.Eventually(t, 30*time.Second, "the webhook refuses an unknown stage", func() error {
		err := c.Create(ctx, &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "hello-9-9-9-qa", Namespace: engineNS},
			Spec: ferryv1.PromotionSpec{Application: "hello", Release: "hello-9-9-9", Stage: "qa"}})
		if err == nil || !strings.Contains(err.Error(), want) {
			return fmt.Errorf("got %w, want %q", err, want)
		}
		return nil
	})
	err := c.Create(ctx, &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "hello-bad", Namespace: engineNS},
		Spec: ferryv1.ReleaseSpec{Application: "hello", Version: "latest", Flow: "release", AppFile: engineApp,
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "127.0.0.1:5000/hello", Digest: "sha256:nope"}}}})
	if err == nil || !strings.Contains(err.Error(), `spec.version: Invalid value: "latest"`) || !strings.Contains(err.Error(), "spec.images[0].digest") {
		t.Errorf("malformed release: %v", err)
	}
}

// logsShow checks that `ferry logs PROMOTION` prints the kept logs of the real hook
// pods, read from the node through the API server.
func (e *clusterEnv) logsShow(t *testing.T, promotion string, want ...string) {
	t.Helper()
	lc, err := logs.Client(e.rc)
	must(t, err)
	var out bytes.Buffer
	e2ekit.Eventually(t, 30*time.Second, "ferry logs shows the hook logs", func() error {
		out.Reset()
		if err := logs.Print(context.Background(), lc, engineNS, promotion, "", "", &out); err != nil {
			return err
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				return fmt.Errorf("ferry logs lacks %q:\n%s", w, out.String())
			}
		}
		return nil
	})
	t.Logf("ferry logs %s:\n%s", promotion, out.String())
}

// buildImage builds a Go program of the repository into an image in the local registry.
func (e *clusterEnv) buildImage(t *testing.T, pkg, ref, ldflags string, env ...string) {
	t.Helper()
	_, err := imagebuild.Build(context.Background(), imagebuild.Options{Dir: e.repo, Package: pkg, Ref: e.cfg.RegistryAddr + "/" + ref,
		LDFlags: ldflags, Env: env, Insecure: true})
	must(t, err)
}

// release creates a Release of hello at version in ns, as `ferry release` does.
func (e *clusterEnv) release(t *testing.T, c client.Client, ns, version string) *ferryv1.Release {
	t.Helper()
	rel, err := release.Create(context.Background(), c, release.Registry{}, release.Options{Namespace: ns, Application: "hello",
		Image: e.cfg.RegistryAddr + "/hello:" + version, TestsImage: e.cfg.RegistryAddr + "/hello-smoke:1"})
	must(t, err)
	return rel
}

// waitPhase waits for a Promotion to reach the phase; another finished phase fails.
func (e *clusterEnv) waitPhase(t *testing.T, c client.Client, ns, name string, want ferryv1.PromotionPhase, timeout time.Duration) *ferryv1.Promotion {
	t.Helper()
	p := &ferryv1.Promotion{}
	e2ekit.Eventually(t, timeout, "promotion "+name+" "+string(want), func() error {
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
			return err
		}
		if p.Status.Phase != want && (p.Status.Phase == ferryv1.PromotionFailed || p.Status.Phase == ferryv1.PromotionSucceeded) {
			t.Fatalf("promotion %s ended %s: %s", name, p.Status.Phase, p.Status.Message)
		}
		if p.Status.Phase != want {
			return fmt.Errorf("phase %s: %s %+v", p.Status.Phase, p.Status.Message, p.Status.Checkpoints)
		}
		return nil
	})
	return p
}

// answers checks that hello's Service in ns answers with the version.
func (e *clusterEnv) answers(t *testing.T, ns, version string) {
	t.Helper()
	svc, err := e.cs.CoreV1().Services(ns).Get(context.Background(), "hello", metav1.GetOptions{})
	must(t, err)
	e2ekit.Eventually(t, 30*time.Second, "hello in "+ns+" answers "+version, func() error {
		info, err := demo.GetInfo(context.Background(), "http://"+svc.Spec.ClusterIP+"/info", 5*time.Second)
		if err != nil {
			return err
		}
		if info.Version != version {
			return fmt.Errorf("answers %s", info.Version)
		}
		return nil
	})
}

// statusShows waits until `ferry status hello` holds each line.
func (e *clusterEnv) statusShows(t *testing.T, c client.Client, want ...string) {
	t.Helper()
	var out bytes.Buffer
	e2ekit.Eventually(t, 30*time.Second, "ferry status shows the stages", func() error {
		out.Reset()
		if err := status.Print(context.Background(), c, engineNS, "hello", &out); err != nil {
			return err
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				return fmt.Errorf("status lacks %q:\n%s", w, out.String())
			}
		}
		return nil
	})
	t.Logf("ferry status hello:\n%s", out.String())
}

func checkpointPhase(p *ferryv1.Promotion, name string) ferryv1.CheckpointPhase {
	for _, c := range p.Status.Checkpoints {
		if c.Name == name {
			return c.Phase
		}
	}
	return ""
}

// decideAs mints a kubeconfig for user in group and decides with it, as `ferry approve`.
func (e *clusterEnv) decideAs(t *testing.T, user, group string, req approval.Request) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), user+".kubeconfig")
	must(t, e.cfg.MintKubeconfig(user, []string{group}, path))
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	must(t, err)
	who, err := approval.WhoAmI(context.Background(), rc)
	if err != nil {
		return err
	}
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	_, err = approval.Decide(context.Background(), c, who, req)
	return err
}

// grantApprovers lets the groups read Applications and Promotions and write decisions.
func (e *clusterEnv) grantApprovers(t *testing.T, groups ...string) {
	t.Helper()
	ctx := context.Background()
	_, err := e.cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-ferry-approver"},
		Rules:      testenv.ApproverRules,
	}, metav1.CreateOptions{})
	must(t, err)
	var subjects []rbacv1.Subject
	for _, g := range groups {
		subjects = append(subjects, rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: g})
	}
	_, err = e.cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-ferry-approver"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "e2e-ferry-approver"},
		Subjects:   subjects,
	}, metav1.CreateOptions{})
	must(t, err)
}
