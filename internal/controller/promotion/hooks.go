package promotion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

// Defaults of a job hook that does not say.
const (
	defaultHookTimeout = 10 * time.Minute
	defaultHookPoll    = 5 * time.Second
)

// preDeploy and postDeploy run the app file's hooks of that phase, in order.
func (r *Reconciler) preDeploy(ctx context.Context, f *facts) (bool, time.Duration, error) {
	return r.hooks(ctx, f, ferryv1.StepPreDeploy, func(a *appfile.App) []appfile.Hook { return a.Deploy.PreDeploy })
}

func (r *Reconciler) postDeploy(ctx context.Context, f *facts) (bool, time.Duration, error) {
	return r.hooks(ctx, f, ferryv1.StepPostDeploy, func(a *appfile.App) []appfile.Hook { return a.Deploy.PostDeploy })
}

// hooks runs each job hook as a Kubernetes Job in every target cluster and waits for it:
// a Job that fails or outlives its timeout fails the step. Jobs have fixed names, so a
// resumed step finds the Jobs it started instead of starting them again.
func (r *Reconciler) hooks(ctx context.Context, f *facts, step string, of func(*appfile.App) []appfile.Hook) (bool, time.Duration, error) {
	// Hook templates see the first target cluster's hosts.
	first, _, err := r.target(ctx, f.prom.Namespace, f.stage.Clusters[0])
	if err != nil {
		return false, 0, err
	}
	app, err := f.resolve(first.Spec.Hosts)
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	hooks := of(app)
	if len(hooks) == 0 {
		setMessage(f.prom, step, "no hooks")
		return true, 0, nil
	}
	started := checkpoint(f.prom, step).StartedAt
	var done []string
	for i, h := range hooks {
		if h.Job == nil {
			return false, 0, fmt.Errorf("%w: %s hook %d: only job hooks run yet (webhook and concord hooks are not supported)", errStepFailed, step, i)
		}
		for _, id := range f.stage.Clusters {
			_, rc, err := r.target(ctx, f.prom.Namespace, id)
			if err != nil {
				return false, 0, err
			}
			cs, err := kubernetes.NewForConfig(rc)
			if err != nil {
				return false, 0, err
			}
			job, err := ensureJob(ctx, cs, hookJob(f, app, step, h.Job))
			if err != nil {
				return false, 0, err
			}
			timeout, poll := hookTimes(h.Job)
			switch state := jobState(job); state {
			case "Complete":
				continue
			case "Failed":
				return false, 0, fmt.Errorf("%w: hook %s (job %s/%s in %s) failed: %s", errStepFailed, h.Job.Name, job.Namespace, job.Name, id, jobReason(job))
			default:
				if started != nil && r.Now().Sub(started.Time) > timeout {
					return false, 0, fmt.Errorf("%w: hook %s (job %s/%s in %s) did not finish within %s", errStepFailed, h.Job.Name, job.Namespace, job.Name, id, timeout)
				}
				setMessage(f.prom, step, fmt.Sprintf("hook %s running in %s (job %s/%s)", h.Job.Name, id, job.Namespace, job.Name))
				return false, poll, nil
			}
		}
		done = append(done, h.Job.Name)
	}
	setMessage(f.prom, step, "hooks passed: "+strings.Join(done, ", "))
	return true, 0, nil
}

func hookTimes(j *appfile.JobHook) (time.Duration, time.Duration) {
	timeout, poll := defaultHookTimeout, defaultHookPoll
	if j.TimeoutSeconds != nil {
		timeout = time.Duration(*j.TimeoutSeconds) * time.Second
	}
	if j.PollPeriodSeconds != nil {
		poll = time.Duration(*j.PollPeriodSeconds) * time.Second
	}
	return timeout, poll
}

// hookJob is the Job a hook runs: its image, command and environment as written, no
// retries, and its timeout as the Job's deadline.
func hookJob(f *facts, app *appfile.App, step string, h *appfile.JobHook) *batchv1.Job {
	ns := h.Namespace
	if ns == "" {
		ns = app.Deploy.Namespace
	}
	sum := sha256.Sum256([]byte(f.prom.Namespace + "/" + f.prom.Name + "/" + step))
	name := h.NamePrefix + h.Name + "-" + hex.EncodeToString(sum[:4])
	if len(name) > 63 {
		name = name[len(name)-63:]
	}
	timeout, _ := hookTimes(h)
	deadline := int64(timeout.Seconds())
	var env []corev1.EnvVar
	keys := make([]string, 0, len(h.Env))
	for k := range h.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, corev1.EnvVar{Name: k, Value: h.Env[k]})
	}
	env = append(env, corev1.EnvVar{Name: "FERRY_VERSION", Value: f.release.Spec.Version}, corev1.EnvVar{Name: "FERRY_STAGE", Value: f.stage.Name})
	labels := map[string]string{ferryv1.LabelApplication: f.app.Name, ferryv1.LabelStage: f.stage.Name, ferryv1.LabelRelease: f.release.Name,
		ferryv1.LabelPromotion: f.prom.Name, ferryv1.LabelStep: step, ferryv1.LabelHook: h.Name}
	zero := int32(0)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:          &zero,
			ActiveDeadlineSeconds: &deadline,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "hook", Image: h.Image, Command: h.Command, Env: env}},
				},
			},
		},
	}
}

// ensureJob creates the Job unless it exists, and returns it as the cluster has it.
func ensureJob(ctx context.Context, cs kubernetes.Interface, job *batchv1.Job) (*batchv1.Job, error) {
	got, err := cs.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
	if err == nil {
		return got, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, job.Namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: job.Namespace}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	created, err := cs.BatchV1().Jobs(job.Namespace).Create(ctx, job, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return cs.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
	}
	return created, err
}

// jobState is Complete, Failed, or "" while the Job runs.
func jobState(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
			return "Complete"
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			return "Failed"
		}
	}
	return ""
}

func jobReason(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobFailed || c.Type == batchv1.JobFailureTarget) && c.Status == corev1.ConditionTrue {
			return strings.TrimSpace(c.Reason + " " + c.Message)
		}
	}
	return "unknown"
}
