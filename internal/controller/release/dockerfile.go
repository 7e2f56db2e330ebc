package release

import (
	"maps"
	"path"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/imagebuild"
)

// The containers of a Dockerfile build: the checkout runs first (an init container),
// then the app's and the tests' image builds side by side.
const (
	checkoutContainer = "checkout"
	testsContainer    = "build-tests"
	workspace         = "/workspace"
)

// dockerfileJob is the Job that builds a Release with a Dockerfile (docker and maven
// apps). The builder image checks the commit out into a shared emptyDir (`ferry build
// --checkout-only`, so private repositories are reached as for Go builds); then the
// Dockerfile builder, a kaniko executor, builds each image from the checkout and
// pushes it tagged with the version, writing its digest to the termination message
// (--digest-file), from which endBuild reads it.
func (r *Reconciler) dockerfileJob(rel *ferryv1.Release) *batchv1.Job {
	job := r.buildJob(rel)
	b, g, v := rel.Spec.Build, rel.Spec.Git, rel.Spec.Version
	pod := &job.Spec.Template.Spec
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "workspace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	ws := corev1.VolumeMount{Name: "workspace", MountPath: workspace}
	checkout := pod.Containers[0]
	checkout.Name = checkoutContainer
	checkout.Args = []string{"build", "--checkout-only", workspace, "--repo", g.RepoURL, "--commit", g.Commit}
	checkout.VolumeMounts = append(slices.Clone(checkout.VolumeMounts), ws)
	pod.InitContainers = []corev1.Container{checkout}
	pod.Containers = []corev1.Container{r.kaniko(buildContainer, b.Package, b.Dockerfile, b.Repository+":"+v, b.BuildArgs, ws)}
	if b.TestsDockerfile != "" && b.TestsRepository != "" {
		pod.Containers = append(pod.Containers, r.kaniko(testsContainer, b.TestsPackage, b.TestsDockerfile, b.TestsRepository+":"+v, nil, ws))
	}
	return job
}

// kaniko is one image build with the kaniko executor's flags: the context and the
// Dockerfile inside the checkout, the destination, the digest as the termination
// message, and the build arguments in a stable order.
func (r *Reconciler) kaniko(name, contextDir, dockerfile, dest string, buildArgs map[string]string, ws corev1.VolumeMount) corev1.Container {
	args := []string{
		"--context=dir://" + path.Join(workspace, contextDir),
		"--dockerfile=" + path.Join(workspace, dockerfile),
		"--destination=" + dest,
		"--digest-file=/dev/termination-log",
	}
	for _, k := range slices.Sorted(maps.Keys(buildArgs)) {
		args = append(args, "--build-arg="+k+"="+buildArgs[k])
	}
	if imagebuild.IsLoopback(dest) {
		args = append(args, "--insecure") // a registry on the node's loopback speaks plain HTTP
	}
	return corev1.Container{Name: name, Image: r.Builder.DockerfileImage, Args: args, Env: r.Builder.Env,
		VolumeMounts: []corev1.VolumeMount{ws}, TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError}
}
