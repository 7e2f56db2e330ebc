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
	"ferry.dev/ferry/internal/cli/status"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/demo"
	"ferry.dev/ferry/internal/imagebuild"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/release"
	"ferry.dev/ferry/internal/testenv"
)

const engineNS = "e2e-engine"

// engineApp is hello's delivery with two stages on the dev cluster: dev deploys by
// itself, prod waits for an approver.
const engineApp = `profiles: [go-service]
build: {buildType: go, artifact: hello}
deploy:
  namespace: e2e-hello-engine
  releaseType: {deployTimeout: 120}
  helm:
    values:
      scaling: {enabled: false, min: 2}
  postDeploy:
    - job: {name: smoke, action: create, image: "127.0.0.1:5000/e2e/apiprobe:1", timeoutSeconds: 120, pollPeriodSeconds: 1}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [dev-local]}]}
    - {name: prod, flows: [release], target: [{cluster_id: [dev-local]}], approvers: {groups: [hello-approvers]}}
`

// testEngine runs the controller against the dev cluster: a Release of a freshly built
// hello image is deployed to dev with real pods, passes its post-deploy hook (a real Job),
// answers with its version through the Service, waits for approval before prod, is refused to a user outside the approver
// group and approved by a member, and is then verified in prod.
func (e *clusterEnv) testEngine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- controller.Run(ctx, e.rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0"}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	}()
	c, err := kubeclient.Ferry(e.rc)
	must(t, err)
	_, err = e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: engineNS}}, metav1.CreateOptions{})
	must(t, err)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "dev-local", Namespace: engineNS}}))
	f, err := appfile.LoadBytes("ferry.yml", []byte(engineApp), e.repo, appfile.Options{})
	must(t, err)
	app, err := appobject.Build(f, engineNS, nil)
	must(t, err)
	must(t, c.Create(ctx, app))

	// The post-deploy hook's image: a program that calls the API server and exits.
	_, err = imagebuild.Build(ctx, imagebuild.Options{Dir: e.repo, Package: "./test/e2e/apiprobe", Ref: e.cfg.RegistryAddr + "/e2e/apiprobe:1", Insecure: true})
	must(t, err)
	version := "3.0.0"
	_, err = imagebuild.Build(ctx, imagebuild.Options{Dir: e.repo, Package: "./examples/hello", Ref: e.cfg.RegistryAddr + "/hello:" + version,
		LDFlags: "-X main.version=" + version, Insecure: true})
	must(t, err)
	start := time.Now()
	rel, err := release.Create(ctx, c, release.Registry{}, release.Options{Namespace: engineNS, Application: "hello", Image: e.cfg.RegistryAddr + "/hello:" + version})
	must(t, err)

	dev := &ferryv1.Promotion{}
	eventually(t, 3*time.Minute, "dev promotion succeeds", func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: engineNS, Name: rel.Name + "-dev"}, dev); err != nil {
			return err
		}
		if dev.Status.Phase == ferryv1.PromotionFailed {
			t.Fatalf("dev promotion failed: %s", dev.Status.Message)
		}
		if dev.Status.Phase != ferryv1.PromotionSucceeded {
			return fmt.Errorf("phase %s: %+v", dev.Status.Phase, dev.Status.Checkpoints)
		}
		return nil
	})
	t.Logf("release %s verified in dev %s after it was created (its post-deploy Job included)", version, time.Since(start).Round(100*time.Millisecond))
	jobs, err := e.cs.BatchV1().Jobs("e2e-hello-engine").List(ctx, metav1.ListOptions{LabelSelector: "ferry.dev/hook=smoke"})
	must(t, err)
	if len(jobs.Items) != 1 || jobs.Items[0].Status.Succeeded != 1 {
		t.Errorf("smoke hook jobs: %d, want one that succeeded on the real node", len(jobs.Items))
	}
	svc, err := e.cs.CoreV1().Services("e2e-hello-engine").Get(ctx, "hello", metav1.GetOptions{})
	must(t, err)
	info, err := demo.GetInfo(ctx, "http://"+svc.Spec.ClusterIP+"/info", 30*time.Second)
	must(t, err)
	if info.Version != version {
		t.Errorf("dev answers version %s, want %s", info.Version, version)
	}
	prod := &ferryv1.Promotion{}
	eventually(t, 30*time.Second, "prod waits for approval", func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: engineNS, Name: rel.Name + "-prod"}, prod); err != nil {
			return err
		}
		if prod.Status.Phase != ferryv1.PromotionWaitingApproval {
			return fmt.Errorf("phase %s", prod.Status.Phase)
		}
		return nil
	})

	// `ferry status` shows both stages as a person would read them.
	var out bytes.Buffer
	eventually(t, 30*time.Second, "ferry status shows the stages", func() error {
		out.Reset()
		if err := status.Print(ctx, c, engineNS, "hello", &out); err != nil {
			return err
		}
		for _, want := range []string{
			"dev    3.0.0",
			"prod   -        3.0.0 (WaitingApproval)  approval  0/1 []     waiting for 1 of [hello-approvers] to approve (0 so far)",
		} {
			if !strings.Contains(out.String(), want) {
				return fmt.Errorf("status lacks %q:\n%s", want, out.String())
			}
		}
		return nil
	})
	t.Logf("ferry status hello:\n%s", out.String())

	// People approve with kubeconfigs of their own: the API server says who they are.
	e.grantApprovers(t, "hello-approvers", "others")
	req := approval.Request{Namespace: engineNS, Application: "hello", Stage: "prod", Decision: ferryv1.DecisionApprove}
	if err := e.decideAs(t, "mallory", "others", req); err == nil || !strings.Contains(err.Error(), "mallory is not in an approver group of stage prod") {
		t.Errorf("mallory: %v", err)
	}
	must(t, e.decideAs(t, "alice", "hello-approvers", req))
	eventually(t, 2*time.Minute, "prod promotion succeeds after alice approves", func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: engineNS, Name: rel.Name + "-prod"}, prod); err != nil {
			return err
		}
		if prod.Status.Phase != ferryv1.PromotionSucceeded {
			return fmt.Errorf("phase %s: %s", prod.Status.Phase, prod.Status.Message)
		}
		return nil
	})
	if len(prod.Status.Approvals) != 1 || prod.Status.Approvals[0].User != "alice" || prod.Status.Approvals[0].Group != "hello-approvers" {
		t.Errorf("approvals recorded: %+v", prod.Status.Approvals)
	}

	// `ferry history` lists both promotions, prod (the newest) first, with its approver.
	out.Reset()
	must(t, history.Print(ctx, c, engineNS, "hello", "", &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "prod   3.0.0    Succeeded") || !strings.Contains(lines[1], "alice (hello-approvers)") ||
		!strings.Contains(lines[2], "dev    3.0.0    Succeeded") {
		t.Errorf("ferry history:\n%s", out.String())
	}
	t.Logf("ferry history hello:\n%s", out.String())
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
