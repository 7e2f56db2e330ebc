package release

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/hooklog"
)

// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list
// +kubebuilder:rbac:groups="",resources=pods/log,verbs=get
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;update

// Builder says how build Jobs run.
type Builder struct {
	// Image is the builder's image; its entrypoint takes `build` and the flags of
	// `ferry build` (the dev cluster's is the ferry binary: `ferry dev builder-image`).
	Image string
	// HostPaths are mounted read-only at the same paths (on the dev cluster: the Go
	// toolchain, the module cache and local git repositories).
	HostPaths []string
	// Env is set in the builder's container.
	Env []corev1.EnvVar
	// HostNetwork runs the build in the node's network (on the dev cluster the registry
	// listens on the node's loopback).
	HostNetwork bool
	// Timeout bounds one build (default 30 minutes).
	Timeout time.Duration
	// DockerfileImage builds the images of Releases with a Dockerfile (docker and maven
	// apps): a kaniko executor, or an image taking kaniko's flags (see dockerfileJob).
	// Empty: such Releases wait with the reason NoBuilder.
	DockerfileImage string
}

// buildContainer is the name of a build Job's container.
const buildContainer = "build"

// buildResult is what `ferry build` writes to its termination message.
type buildResult struct {
	App   string `json:"app"`
	Tests string `json:"tests,omitempty"`
}

// build runs the Release's build Job and records what it pushed; done once the images
// are there. A failed build fails the Release, with its log kept; it is never retried
// (a new commit makes a new Release).
func (r *Reconciler) build(ctx context.Context, rel *ferryv1.Release) (done bool, err error) {
	st := rel.Status.Build
	switch {
	case st != nil && st.Phase == ferryv1.BuildSucceeded:
		return true, nil
	case st != nil && st.Phase == ferryv1.BuildFailed:
		setReady(rel, metav1.ConditionFalse, "BuildFailed", st.Message)
		return false, nil
	case r.Builder == nil || r.Builder.Image == "":
		setReady(rel, metav1.ConditionFalse, "NoBuilder", "the Release is to be built from its commit, and the controller has no builder (ferry controller --builder-image)")
		return false, nil
	case rel.Spec.Build.Dockerfile != "" && r.Builder.DockerfileImage == "":
		setReady(rel, metav1.ConditionFalse, "NoBuilder", "the Release is to be built from "+rel.Spec.Build.Dockerfile+
			", and the controller has no Dockerfile builder (ferry controller --dockerfile-builder-image, a kaniko executor)")
		return false, nil
	}
	job, err := r.ensureJob(ctx, rel)
	if err != nil {
		return false, err
	}
	if rel.Status.Build == nil {
		rel.Status.Build = &ferryv1.BuildStatus{Phase: ferryv1.BuildRunning, Job: job.Name, StartedAt: &metav1.Time{Time: r.Now()}}
	}
	finished, failed := jobEnded(job)
	if !finished {
		setReady(rel, metav1.ConditionFalse, ferryv1.ReasonProgressing, "building "+rel.Spec.Git.Commit[:min(12, len(rel.Spec.Git.Commit))]+" in job "+job.Name)
		return false, nil
	}
	return r.endBuild(ctx, rel, job, failed)
}

// ensureJob returns the Release's build Job, made once (its name is fixed).
func (r *Reconciler) ensureJob(ctx context.Context, rel *ferryv1.Release) (*batchv1.Job, error) {
	job := &batchv1.Job{}
	err := r.Get(ctx, client.ObjectKey{Namespace: rel.Namespace, Name: buildJobName(rel)}, job)
	if !apierrors.IsNotFound(err) {
		return job, err
	}
	job = r.buildJob(rel)
	if rel.Spec.Build.Dockerfile != "" {
		job = r.dockerfileJob(rel)
	}
	if err := controllerutil.SetControllerReference(rel, job, r.Scheme()); err != nil {
		return nil, err
	}
	if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("starting the build of %s: %w", rel.Name, err)
	}
	return job, nil
}

func buildJobName(rel *ferryv1.Release) string {
	name := rel.Name + "-build"
	if len(name) > 63 {
		name = strings.TrimRight(name[:57], "-") + "-build"
	}
	return name
}

// buildJob is the Job that runs `ferry build` for the Release's commit.
func (r *Reconciler) buildJob(rel *ferryv1.Release) *batchv1.Job {
	b, g, v := rel.Spec.Build, rel.Spec.Git, rel.Spec.Version
	args := []string{"build", "--repo", g.RepoURL, "--commit", g.Commit, "--package", b.Package,
		"--image", b.Repository + ":" + v, "--version", v}
	if b.TestsPackage != "" && b.TestsRepository != "" {
		args = append(args, "--tests-package", b.TestsPackage, "--tests-image", b.TestsRepository+":"+v)
	}
	// The image may hold nothing but the builder: /tmp is scratch space (checkout, caches).
	volumes := []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	mounts := []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}
	for i, p := range r.Builder.HostPaths {
		name := fmt.Sprintf("host-%d", i)
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: p}}})
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: p, ReadOnly: true})
	}
	labels := map[string]string{ferryv1.LabelApplication: rel.Spec.Application, ferryv1.LabelRelease: rel.Name, "ferry.dev/build": "true"}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: buildJobName(rel), Namespace: rel.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: ptr.To(int64(cmp.Or(r.Builder.Timeout, 30*time.Minute) / time.Second)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					HostNetwork:   r.Builder.HostNetwork,
					Volumes:       volumes,
					Containers: []corev1.Container{{Name: buildContainer, Image: r.Builder.Image, Args: args, Env: r.Builder.Env,
						VolumeMounts: mounts, TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError}},
				},
			},
		},
	}
}

// jobEnded says whether the Job finished, and whether it failed.
func jobEnded(j *batchv1.Job) (finished, failed bool) {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, false
		case batchv1.JobFailed:
			return true, true
		}
	}
	return false, false
}

// endBuild records the build's end: the images from the pod's termination message, or
// why it failed, and the log in a ConfigMap owned by the Release.
func (r *Reconciler) endBuild(ctx context.Context, rel *ferryv1.Release, job *batchv1.Job, failed bool) (bool, error) {
	st := rel.Status.Build
	st.FinishedAt = &metav1.Time{Time: r.Now()}
	msgs, err := r.terminationMessages(ctx, job)
	if err != nil {
		return false, err
	}
	res, msg := readResult(rel, msgs)
	if err := r.keepBuildLog(ctx, rel, job); err != nil {
		return false, err
	}
	st.LogConfigMap = buildJobName(rel) + "-log"
	if !failed {
		if !strings.HasPrefix(res.App, "sha256:") || rel.Spec.Build.TestsRepository != "" && !strings.HasPrefix(res.Tests, "sha256:") {
			failed, msg = true, fmt.Sprintf("the build job %s ended without saying what it pushed (termination message %q)", job.Name, shorten(msg, 200))
		} else {
			rel.Status.Images = builtImages(rel, res)
		}
	}
	if failed {
		st.Phase, st.Message = ferryv1.BuildFailed, "build failed: "+cmp.Or(shorten(strings.TrimSpace(msg), 512), jobMessage(job))
		setReady(rel, metav1.ConditionFalse, "BuildFailed", st.Message)
		return false, nil
	}
	st.Phase, st.Message = ferryv1.BuildSucceeded, "pushed "+rel.Status.Images[0].Repository+"@"+rel.Status.Images[0].Digest
	return true, nil
}

// builtImages are the Release's images as its build pushed them.
func builtImages(rel *ferryv1.Release, res buildResult) []ferryv1.ReleaseImage {
	b, v := rel.Spec.Build, rel.Spec.Version
	out := []ferryv1.ReleaseImage{{Name: "app", Repository: b.Repository, Tag: v, Digest: res.App}}
	if res.Tests != "" && b.TestsRepository != "" {
		out = append(out, ferryv1.ReleaseImage{Name: "tests", Repository: b.TestsRepository, Tag: v, Digest: res.Tests})
	}
	return out
}

// readResult reads the digests from the build containers' termination messages: the
// JSON of `ferry build`, or for a Dockerfile build each kaniko's --digest-file. msg is
// what to quote when they say nothing usable: the app build's message, or the first
// failed container's.
func readResult(rel *ferryv1.Release, msgs map[string]string) (buildResult, string) {
	if rel.Spec.Build.Dockerfile == "" {
		var res buildResult
		_ = json.Unmarshal([]byte(msgs[buildContainer]), &res) // not JSON: no digest, and the message is quoted
		return res, msgs[buildContainer]
	}
	res := buildResult{App: strings.TrimSpace(msgs[buildContainer]), Tests: strings.TrimSpace(msgs[testsContainer])}
	for _, name := range []string{checkoutContainer, buildContainer, testsContainer} {
		if m := msgs[name]; m != "" && !strings.HasPrefix(strings.TrimSpace(m), "sha256:") {
			return res, m
		}
	}
	return res, msgs[buildContainer]
}

// terminationMessages are what the build pod's containers said as they ended, by
// container name (none when its pod is gone).
func (r *Reconciler) terminationMessages(ctx context.Context, job *batchv1.Job) (map[string]string, error) {
	// Read once, uncached: a cache of every pod would cost the controller more than
	// builds are worth.
	pods, err := r.clientset.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + job.Name})
	if err != nil {
		return nil, err
	}
	msgs := map[string]string{}
	for _, p := range pods.Items {
		for _, s := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if s.State.Terminated != nil {
				msgs[s.Name] = s.State.Terminated.Message
			}
		}
	}
	return msgs, nil
}

// keepBuildLog keeps the end of the build's log in a ConfigMap owned by the Release.
func (r *Reconciler) keepBuildLog(ctx context.Context, rel *ferryv1.Release, job *batchv1.Job) error {
	log, err := r.buildLog(ctx, job)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: buildJobName(rel) + "-log", Namespace: rel.Namespace,
		Labels: map[string]string{ferryv1.LabelRelease: rel.Name}}, Data: map[string]string{hooklog.DataKey: log}}
	if err != nil {
		cm.Annotations = map[string]string{hooklog.AnnotationError: err.Error()}
	}
	if err := controllerutil.SetOwnerReference(rel, cm, r.Scheme()); err != nil {
		return err
	}
	if err := r.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("keeping the build log of %s: %w", rel.Name, err)
	}
	return nil
}

// buildLog is the build container's log; a Job of several containers (a Dockerfile
// build) has each one's under a heading, in the order they ran.
func (r *Reconciler) buildLog(ctx context.Context, job *batchv1.Job) (string, error) {
	spec := job.Spec.Template.Spec
	cs := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	if len(cs) == 1 {
		return hooklog.FetchContainer(ctx, r.clientset, job.Namespace, job.Name, cs[0].Name)
	}
	var b strings.Builder
	for _, c := range cs {
		log, err := hooklog.FetchContainer(ctx, r.clientset, job.Namespace, job.Name, c.Name)
		if err != nil {
			return b.String(), err
		}
		fmt.Fprintf(&b, "--- %s ---\n%s", c.Name, log)
		if log != "" && !strings.HasSuffix(log, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String(), nil
}

// jobMessage is the Job's own word on its failure.
func jobMessage(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	return "the build job failed"
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
