//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/release"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

const killNS = "e2e-kill"

// killApp travels three stages without approvals, each with a deployment and a hook Job.
const killApp = `profiles: [go-service]
build: {buildType: go, artifact: hello}
deploy:
  namespace: e2e-kill
  releaseType: {deployTimeout: 120}
  helm:
    values:
      scaling: {enabled: false, min: 1}
  postDeploy:
    - job: {name: apiprobe, action: create, image: "127.0.0.1:5000/e2e/apiprobe:1", timeoutSeconds: 120, pollPeriodSeconds: 1}
  stages:
    - {name: dev, namespace: e2e-kill-dev, flows: [release], target: [{cluster_id: [dev-local]}]}
    - {name: stage, namespace: e2e-kill-stage, flows: [release], target: [{cluster_id: [dev-local]}]}
    - {name: prod, namespace: e2e-kill-prod, flows: [release], target: [{cluster_id: [dev-local]}]}
`

// testKilledController runs `ferry controller` as a process and kills it with SIGKILL
// ten times at random moments while a Release travels three stages, starting it again
// each time. The delivery must complete exactly once: one Promotion per stage, each
// succeeded with every step passed once, one hook Job per stage, and each stage's
// Deployment written once (generation 1) running the Release's image.
func (e *clusterEnv) testKilledController(t *testing.T) {
	ctx := context.Background()
	c, err := kubeclient.Ferry(e.rc)
	must(t, err)
	e.createApp(t, c, killNS, killApp)

	seed := time.Now().UnixNano()
	t.Logf("kill moments from seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0)) //nolint:gosec // the moments of the kills need no secure randomness
	logs := filepath.Join(t.TempDir(), "controller.log")
	rel, err := release.Create(ctx, c, release.Registry{}, release.Options{Namespace: killNS, Application: "hello", Image: e.cfg.RegistryAddr + "/hello:3.0.0"})
	must(t, err)
	start := time.Now()
	for kill := 1; kill <= 10; kill++ {
		cmd := e.startController(t, logs)
		time.Sleep(time.Duration(300+rng.IntN(1700)) * time.Millisecond)
		must(t, cmd.Process.Kill())
		_ = cmd.Wait()
		t.Logf("kill %d at %s: %s", kill, time.Since(start).Round(100*time.Millisecond), e.progress(c, rel.Name))
	}
	cmd := e.startController(t, logs)
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	e2ekit.Eventually(t, 4*time.Minute, "the delivery completes after ten kills", func() error {
		if got := e.progress(c, rel.Name); got != "dev=Succeeded stage=Succeeded prod=Succeeded" {
			return fmt.Errorf("%s", got)
		}
		return nil
	})
	t.Logf("delivered through three stages in %s with ten kills", time.Since(start).Round(100*time.Millisecond))
	e.checkOnce(t, c, rel)
}

// startController starts `ferry controller` against the dev cluster, its output
// appended to logs.
func (e *clusterEnv) startController(t *testing.T, logs string) *exec.Cmd {
	t.Helper()
	out, err := os.OpenFile(logs, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	must(t, err)
	defer out.Close()
	// The webhook too: each start makes a new certificate and installs it again.
	cmd := exec.Command(e.cfg.FerryBin, "controller", "--kubeconfig", e.cfg.AdminKubeconfig(), "--namespace", killNS,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--webhook-bind-address", "127.0.0.1:19444")
	cmd.Stdout, cmd.Stderr = out, out
	must(t, cmd.Start())
	return cmd
}

// progress says each stage's Promotion phase of the Release.
func (e *clusterEnv) progress(c client.Client, rel string) string {
	s := ""
	for _, stage := range []string{"dev", "stage", "prod"} {
		p := &ferryv1.Promotion{}
		phase := "none"
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: killNS, Name: rel + "-" + stage}, p); err == nil {
			phase = string(p.Status.Phase)
		}
		if s != "" {
			s += " "
		}
		s += stage + "=" + phase
	}
	return s
}

// checkOnce checks that each stage was delivered exactly once.
func (e *clusterEnv) checkOnce(t *testing.T, c client.Client, rel *ferryv1.Release) {
	t.Helper()
	ctx := context.Background()
	proms := &ferryv1.PromotionList{}
	must(t, c.List(ctx, proms, client.InNamespace(killNS)))
	if len(proms.Items) != 3 {
		t.Errorf("%d promotions, want 3", len(proms.Items))
	}
	steps := []string{ferryv1.StepFreeze, ferryv1.StepUpstream, ferryv1.StepApproval, ferryv1.StepPreDeploy, ferryv1.StepDeploy,
		ferryv1.StepPostDeploy, ferryv1.StepTests, ferryv1.StepDone}
	for _, p := range proms.Items {
		if len(p.Status.Checkpoints) != len(steps) {
			t.Errorf("%s: %d checkpoints, want %d: %+v", p.Name, len(p.Status.Checkpoints), len(steps), p.Status.Checkpoints)
		}
		for i, cp := range p.Status.Checkpoints {
			if i < len(steps) && (cp.Name != steps[i] || cp.Phase != ferryv1.CheckpointSucceeded) {
				t.Errorf("%s checkpoint %d: %s %s, want %s Succeeded", p.Name, i, cp.Name, cp.Phase, steps[i])
			}
		}
	}
	image := rel.Spec.Images[0].Repository + "@" + rel.Spec.Images[0].Digest
	for _, stage := range []string{"dev", "stage", "prod"} {
		ns := "e2e-kill-" + stage
		d, err := e.cs.AppsV1().Deployments(ns).Get(ctx, "hello", metav1.GetOptions{})
		must(t, err)
		if d.Generation != 1 || d.Spec.Template.Spec.Containers[0].Image != image {
			t.Errorf("%s: deployment generation %d image %s, want 1 and %s", ns, d.Generation, d.Spec.Template.Spec.Containers[0].Image, image)
		}
		jobs, err := e.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		must(t, err)
		if len(jobs.Items) != 1 || jobs.Items[0].Status.Succeeded != 1 {
			t.Errorf("%s: %d hook jobs, want one that succeeded", ns, len(jobs.Items))
		}
	}
}
