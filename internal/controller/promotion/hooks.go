package promotion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/webhookhook"
)

// Defaults of a hook that does not say.
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

// hooks runs the step's hooks in order, each to its end before the next: a job hook as
// a Kubernetes Job in every target cluster, a webhook hook as a call to an outside
// system; the Extensions subscribed to the step come last, as webhook hooks. A hook that fails or outlives its timeout fails the step. Each hook's progress
// is kept in status.hooks and Jobs have fixed names, so a resumed step neither starts a
// Job again nor calls again a webhook that answered.
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
	ext, err := r.extensionHooks(ctx, f.prom, step)
	if err != nil {
		return false, 0, err
	}
	hooks := append(slices.Clip(of(app)), ext...)
	if len(hooks) == 0 {
		setMessage(f.prom, step, "no hooks")
		return true, 0, nil
	}
	if err := checkHookNames(step, hooks); err != nil {
		return false, 0, err
	}
	if err := f.recordBegun(ctx, step); err != nil {
		return false, 0, err
	}
	var done []string
	for i, h := range hooks {
		var ok bool
		var wait time.Duration
		switch {
		case h.Job != nil:
			ok, wait, err = r.jobHook(ctx, f, app, step, h.Job)
		case h.Webhook != nil:
			ok, wait, err = r.webhook(ctx, f, step, h.Webhook)
		case h.Concord != nil:
			return false, 0, fmt.Errorf("%w: %s hook %d (concord %s/%s): concord hooks need a Concord server; none is configured",
				errStepFailed, step, i, h.Concord.Org, h.Concord.Project)
		default:
			return false, 0, &invalidError{fmt.Sprintf("%s hook %d is neither a job nor a webhook", step, i)}
		}
		if err != nil || !ok {
			return false, wait, err
		}
		done = append(done, hookName(h))
	}
	setMessage(f.prom, step, "hooks passed: "+strings.Join(done, ", "))
	return true, 0, nil
}

// checkHookNames refuses hooks whose progress could not be told apart: a webhook hook
// without a name (its answer comes in an annotation named after it), or two hooks of
// one step with the same name.
func checkHookNames(step string, hooks []appfile.Hook) error {
	seen := map[string]bool{}
	for i, h := range hooks {
		name := hookName(h)
		if h.Webhook != nil {
			if name == "" {
				return &invalidError{fmt.Sprintf("%s hook %d: a webhook hook needs a name (its late answer comes in the annotation %s<name>)", step, i, webhookhook.AnnotationPrefix)}
			}
			if errs := validation.IsQualifiedName(webhookhook.AnnotationKey(name)); len(errs) > 0 {
				return &invalidError{fmt.Sprintf("%s hook %d: webhook hook name %q cannot name the annotation %s: %s", step, i, name, webhookhook.AnnotationKey(name), strings.Join(errs, "; "))}
			}
		}
		if name != "" && seen[name] {
			return &invalidError{fmt.Sprintf("%s has two hooks named %q; a step's hooks need different names", step, name)}
		}
		seen[name] = true
	}
	return nil
}

func hookName(h appfile.Hook) string {
	switch {
	case h.Job != nil:
		return h.Job.Name
	case h.Webhook != nil:
		return h.Webhook.Name
	case h.Concord != nil:
		return h.Concord.Name
	}
	return ""
}

// hookStatus returns the status of the step's named hook, adding it, started now, when
// the hook begins. The pointer is good until the next hook is added.
func (r *Reconciler) hookStatus(p *ferryv1.Promotion, step, name, kind string) *ferryv1.HookStatus {
	now := metav1.NewTime(r.Now())
	for i := range p.Status.Hooks {
		if h := &p.Status.Hooks[i]; h.Step == step && h.Name == name {
			if h.StartedAt == nil {
				h.StartedAt = &now
			}
			return h
		}
	}
	p.Status.Hooks = append(p.Status.Hooks, ferryv1.HookStatus{Step: step, Name: name, Kind: kind, Phase: ferryv1.HookRunning, StartedAt: &now})
	return &p.Status.Hooks[len(p.Status.Hooks)-1]
}

// jobHook runs a job hook as a Job in every target cluster and waits for each; once a
// Job ends its log is kept (logs.go). The timeout counts from the hook's start.
func (r *Reconciler) jobHook(ctx context.Context, f *facts, app *appfile.App, step string, h *appfile.JobHook) (bool, time.Duration, error) {
	hs := r.hookStatus(f.prom, step, h.Name, ferryv1.HookKindJob)
	if hs.Phase == ferryv1.HookSucceeded {
		return true, 0, nil
	}
	timeout, poll := hookTimes(h)
	several := len(f.stage.Clusters) > 1
	for _, id := range f.stage.Clusters {
		_, rc, err := r.target(ctx, f.prom.Namespace, id)
		if err != nil {
			return false, 0, err
		}
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return false, 0, err
		}
		job, err := ensureJob(ctx, cs, hookJob(f, app, step, h))
		if err != nil {
			return false, 0, err
		}
		hs.Job = job.Namespace + "/" + job.Name
		switch state := jobState(job); state {
		case "Complete":
			r.keepLog(ctx, f, hs, h, cs, job, id, several)
			continue
		case "Failed":
			msg := fmt.Sprintf("hook %s (job %s/%s in %s) failed: %s", h.Name, job.Namespace, job.Name, id, jobReason(job))
			msg += r.keepLog(ctx, f, hs, h, cs, job, id, several)
			hs.Phase, hs.Message = ferryv1.HookFailed, msg
			return false, 0, fmt.Errorf("%w: %s", errStepFailed, msg)
		default:
			if r.Now().Sub(hs.StartedAt.Time) > timeout {
				msg := fmt.Sprintf("hook %s (job %s/%s in %s) did not finish within %s", h.Name, job.Namespace, job.Name, id, timeout)
				hs.Phase, hs.Message = ferryv1.HookFailed, msg
				return false, 0, fmt.Errorf("%w: %s", errStepFailed, msg)
			}
			hs.Message = "running in " + id
			setMessage(f.prom, step, fmt.Sprintf("hook %s running in %s (job %s/%s)", h.Name, id, job.Namespace, job.Name))
			return false, poll, nil
		}
	}
	hs.Phase, hs.Message = ferryv1.HookSucceeded, "completed in "+strings.Join(f.stage.Clusters, ", ")
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
