//go:build integration

package promotion_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/testenv"
)

const hookedApp = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-hooked
  preDeploy:
    - job: {name: migrate, action: create, image: "registry.example.com/migrate:{{ $.kitt.build.version }}", command: [/migrate, up], env: {DB: web}, timeoutSeconds: 60, pollPeriodSeconds: 1}
  postDeploy:
    - job: {name: smoke, action: create, image: registry.example.com/smoke:1, namePrefix: post-, pollPeriodSeconds: 1}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestHooksRunAsJobs checks that pre- and post-deploy hooks run as Jobs with what the app
// file says, in order around the deployment, and that a failing hook fails the Promotion
// with its name. The API server has no job controller: the test reports each Job's end.
func TestHooksRunAsJobs(t *testing.T) {
	rc := testenv.Start(t, "../../../config/crd")
	ctx, c, cs := runEngine(t, rc)
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: hookedApp, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	rel := newRelease("2.0.0", digest)
	rel.Spec.AppFile = hookedApp
	must(t, c.Create(ctx, rel))

	migrate := waitJob(t, cs, "web-hooked", "migrate")
	ctr := migrate.Spec.Template.Spec.Containers[0]
	if ctr.Image != "registry.example.com/migrate:2.0.0" || strings.Join(ctr.Command, " ") != "/migrate up" || *migrate.Spec.BackoffLimit != 0 || *migrate.Spec.ActiveDeadlineSeconds != 60 {
		t.Errorf("migrate job: image %s command %v backoff %d deadline %d", ctr.Image, ctr.Command, *migrate.Spec.BackoffLimit, *migrate.Spec.ActiveDeadlineSeconds)
	}
	if env := ctr.Env; len(env) < 1 || env[0].Name != "DB" || env[0].Value != "web" {
		t.Errorf("migrate env %v", env)
	}
	// The deployment waits for the pre-deploy hook.
	if _, err := cs.AppsV1().Deployments("web-hooked").Get(ctx, "web", metav1.GetOptions{}); err == nil {
		t.Error("deployed before the pre-deploy hook finished")
	}
	finishJob(t, cs, migrate, batchv1.JobComplete)
	reportRolledOut(t, cs, "web-hooked", "web")
	smoke := waitJob(t, cs, "web-hooked", "post-smoke")
	finishJob(t, cs, smoke, batchv1.JobFailed)
	p := waitPromotion(t, c, "web-2-0-0-dev", func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })
	if !strings.Contains(p.Status.Message, "hook smoke (job web-hooked/"+smoke.Name+" in local) failed") {
		t.Errorf("failure message %q", p.Status.Message)
	}
	for step, want := range map[string]ferryv1.CheckpointPhase{ferryv1.StepPreDeploy: ferryv1.CheckpointSucceeded,
		ferryv1.StepDeploy: ferryv1.CheckpointSucceeded, ferryv1.StepPostDeploy: ferryv1.CheckpointFailed} {
		if got := checkpointPhase(p, step); got != want {
			t.Errorf("checkpoint %s: %s, want %s", step, got, want)
		}
	}
	// Each step left a Kubernetes Event on the Promotion.
	eventually(t, func() error {
		evs, err := cs.EventsV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=web-2-0-0-dev"})
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, e := range evs.Items {
			seen[e.Reason+"/"+e.Action] = true
		}
		for _, want := range []string{"StepStarted/preDeploy", "StepSucceeded/deploy", "StepFailed/postDeploy", "RollbackStarted/rollback", "PromotionFailed/rollback"} {
			if !seen[want] {
				return fmt.Errorf("no %s event among %v", want, seen)
			}
		}
		return nil
	})
}

// waitJob waits for the Job whose name starts with prefix.
func waitJob(t *testing.T, cs kubernetes.Interface, ns, prefix string) *batchv1.Job {
	t.Helper()
	var job *batchv1.Job
	eventually(t, func() error {
		list, err := cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for i := range list.Items {
			if strings.HasPrefix(list.Items[i].Name, prefix+"-") {
				job = &list.Items[i]
				return nil
			}
		}
		return errNoJob(prefix)
	})
	return job
}

type errNoJob string

func (e errNoJob) Error() string { return "no job " + string(e) + " yet" }

// finishJob plays the job controller, reporting the Job complete or failed.
func finishJob(t *testing.T, cs kubernetes.Interface, job *batchv1.Job, how batchv1.JobConditionType) {
	t.Helper()
	now := metav1.Now()
	job.Status.StartTime = &now
	conds := []batchv1.JobCondition{{Type: how, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now, Reason: "Test", Message: "reported by the test"}}
	if how == batchv1.JobComplete {
		job.Status.CompletionTime = &now
		job.Status.Succeeded = 1
		conds = append([]batchv1.JobCondition{{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now}}, conds...)
	} else {
		job.Status.Failed = 1
		conds = append([]batchv1.JobCondition{{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now, Reason: "BackoffLimitExceeded"}}, conds...)
	}
	job.Status.Conditions = conds
	_, err := cs.BatchV1().Jobs(job.Namespace).UpdateStatus(context.Background(), job, metav1.UpdateOptions{})
	must(t, err)
}
