//go:build integration

package release_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/controller/release"
	"ferry.dev/ferry/internal/testenv"
)

const buildApp = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-built
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestReleaseWaitsForItsBuild runs the controller against a real API server, the test
// playing the Job controller and the kubelet: a Release made from a commit runs one
// build Job of the configured builder (the commit, package and image tags in its
// arguments, the host paths mounted read-only); it starts no Promotion while the Job
// runs; the digests of the pod's termination message become its images and it goes to
// dev. A failed build fails the Release with the pod's last words and starts nothing.
// The API server refuses a Release with neither images nor a build.
func TestReleaseWaitsForItsBuild(t *testing.T) {
	rc := testenv.Start(t, "../../../config/crd")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	builder := &release.Builder{Image: "127.0.0.1:5000/ferry/builder:dev", HostPaths: []string{"/usr/local/go", "/src/web"},
		Env: []corev1.EnvVar{{Name: "GOPROXY", Value: "off"}}, DockerfileImage: "registry.example/kaniko/executor:v1"}
	go func() {
		done <- controller.Run(ctx, rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true, Builder: builder})
	}()
	defer func() { cancel(); must(t, <-done) }()
	sch, err := controller.Scheme()
	must(t, err)
	c, err := client.New(rc, client.Options{Scheme: sch})
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: buildApp, Stages: []ferryv1.StageSpec{{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}}}))

	err = c.Create(ctx, &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "web-0-9-0", Namespace: "default"},
		Spec: ferryv1.ReleaseSpec{Application: "web", Version: "0.9.0", Flow: "release", AppFile: buildApp}})
	if err == nil || !strings.Contains(err.Error(), "a Release has images, or a build") {
		t.Errorf("a Release with neither images nor a build: %v", err)
	}

	built := func(version, commit string, mutate ...func(*ferryv1.ReleaseBuild)) *ferryv1.Release {
		rel := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "web-" + strings.ReplaceAll(version, ".", "-"), Namespace: "default",
			Labels: map[string]string{ferryv1.LabelApplication: "web"}},
			Spec: ferryv1.ReleaseSpec{Application: "web", Version: version, Flow: "release", AppFile: buildApp,
				Git:   &ferryv1.GitInfo{Commit: commit, Branch: "main", RepoURL: "/src/web"},
				Build: &ferryv1.ReleaseBuild{Package: "cmd/web", Repository: "127.0.0.1:5000/web", TestsPackage: "cmd/web/smoke", TestsRepository: "127.0.0.1:5000/web-tests"}}}
		for _, m := range mutate {
			m(rel.Spec.Build)
		}
		must(t, c.Create(ctx, rel))
		return rel
	}
	built("1.0.0", "0123456789abcdef0123456789abcdef01234567")
	job := waitJob(t, cs, "web-1-0-0-build")
	pod := job.Spec.Template.Spec
	want := "build --repo /src/web --commit 0123456789abcdef0123456789abcdef01234567 --package cmd/web --image 127.0.0.1:5000/web:1.0.0 --version 1.0.0 --tests-package cmd/web/smoke --tests-image 127.0.0.1:5000/web-tests:1.0.0"
	if got := strings.Join(pod.Containers[0].Args, " "); got != want || pod.Containers[0].Image != builder.Image ||
		len(pod.Volumes) != 3 || pod.Volumes[0].EmptyDir == nil || pod.Volumes[2].HostPath.Path != "/src/web" || !pod.Containers[0].VolumeMounts[2].ReadOnly ||
		*job.Spec.BackoffLimit != 0 {
		t.Errorf("build job:\n%s\n%+v", got, pod)
	}
	time.Sleep(time.Second)
	if n := promotions(t, c); n != 0 {
		t.Errorf("%d promotions while building", n)
	}
	appDigest, testsDigest := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	finishJob(t, cs, job, true, fmt.Sprintf(`{"app":%q,"tests":%q}`, appDigest, testsDigest))
	rel := waitRel(t, c, "web-1-0-0", func(r *ferryv1.Release) bool {
		return r.Status.Build != nil && r.Status.Build.Phase == ferryv1.BuildSucceeded
	})
	if imgs := rel.AppImages(); len(imgs) != 2 || imgs[0].Digest != appDigest || imgs[0].Tag != "1.0.0" || imgs[1].Repository != "127.0.0.1:5000/web-tests" || imgs[1].Digest != testsDigest {
		t.Errorf("images %+v", imgs)
	}
	if rel.Status.Build.LogConfigMap != "web-1-0-0-build-log" {
		t.Errorf("build status %+v", rel.Status.Build)
	}
	eventually(t, func() error {
		p := &ferryv1.Promotion{}
		return c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web-1-0-0-dev"}, p)
	})

	built("1.1.0", "89abcdef0123456789abcdef0123456789abcdef")
	job = waitJob(t, cs, "web-1-1-0-build")
	finishJob(t, cs, job, false, "main.go:3:1: syntax error: non-declaration statement outside function body")
	rel = waitRel(t, c, "web-1-1-0", func(r *ferryv1.Release) bool {
		return r.Status.Build != nil && r.Status.Build.Phase == ferryv1.BuildFailed
	})
	if !strings.Contains(rel.Status.Build.Message, "syntax error: non-declaration statement") || len(rel.AppImages()) != 0 {
		t.Errorf("failed build: %+v", rel.Status.Build)
	}
	if cond := apimeta.FindStatusCondition(rel.Status.Conditions, ferryv1.ConditionReady); cond == nil || cond.Reason != "BuildFailed" {
		t.Errorf("ready condition %+v", cond)
	}
	time.Sleep(time.Second)
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web-1-1-0-dev"}, &ferryv1.Promotion{}); err == nil {
		t.Error("a failed build started a promotion")
	}
	t.Run("a Dockerfile build", func(t *testing.T) { dockerfileBuild(t, c, cs, built) })
}

// dockerfileBuild: a Release with a Dockerfile is built by a Job whose init container
// checks the commit out with the builder image, and whose containers build the app and
// tests images with the Dockerfile builder's (kaniko's) flags; each one's digest, its
// termination message, becomes the Release's image. A failed tests image fails the
// Release with what that container said.
func dockerfileBuild(t *testing.T, c client.Client, cs kubernetes.Interface, built func(string, string, ...func(*ferryv1.ReleaseBuild)) *ferryv1.Release) {
	docker := func(b *ferryv1.ReleaseBuild) {
		b.Dockerfile, b.TestsDockerfile, b.BuildArgs = "cmd/web/Dockerfile", "cmd/web/smoke/Dockerfile", map[string]string{"JDK": "21", "A": "1"}
	}
	built("2.0.0", "aaaabbbbccccddddeeeeffff0000111122223333", docker)
	pod := waitJob(t, cs, "web-2-0-0-build").Spec.Template.Spec
	var got []string
	for _, ctr := range append(pod.InitContainers, pod.Containers...) {
		got = append(got, ctr.Name+" "+ctr.Image+" "+strings.Join(ctr.Args, " "))
	}
	want := []string{
		"checkout 127.0.0.1:5000/ferry/builder:dev build --checkout-only /workspace --repo /src/web --commit aaaabbbbccccddddeeeeffff0000111122223333",
		"build registry.example/kaniko/executor:v1 --context=dir:///workspace/cmd/web --dockerfile=/workspace/cmd/web/Dockerfile --destination=127.0.0.1:5000/web:2.0.0 --digest-file=/dev/termination-log --build-arg=A=1 --build-arg=JDK=21 --insecure",
		"build-tests registry.example/kaniko/executor:v1 --context=dir:///workspace/cmd/web/smoke --dockerfile=/workspace/cmd/web/smoke/Dockerfile --destination=127.0.0.1:5000/web-tests:2.0.0 --digest-file=/dev/termination-log --insecure",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("containers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	appDigest, testsDigest := "sha256:"+strings.Repeat("c", 64), "sha256:"+strings.Repeat("d", 64)
	finishJobWith(t, cs, waitJob(t, cs, "web-2-0-0-build"), true, map[string]string{"checkout": "", "build": appDigest + "\n", "build-tests": testsDigest})
	rel := waitRel(t, c, "web-2-0-0", func(r *ferryv1.Release) bool {
		return r.Status.Build != nil && r.Status.Build.Phase == ferryv1.BuildSucceeded
	})
	if imgs := rel.AppImages(); len(imgs) != 2 || imgs[0].Digest != appDigest || imgs[1].Digest != testsDigest || imgs[1].Tag != "2.0.0" {
		t.Errorf("images %+v", imgs)
	}

	built("2.1.0", "aaaabbbbccccddddeeeeffff0000111122224444", docker)
	finishJobWith(t, cs, waitJob(t, cs, "web-2-1-0-build"), false, map[string]string{"checkout": "", "build": appDigest,
		"build-tests": "error building image: COPY failed: file not found in build context"})
	rel = waitRel(t, c, "web-2-1-0", func(r *ferryv1.Release) bool {
		return r.Status.Build != nil && r.Status.Build.Phase == ferryv1.BuildFailed
	})
	if rel.Status.Build.Message != "build failed: error building image: COPY failed: file not found in build context" || len(rel.AppImages()) != 0 {
		t.Errorf("failed build: %+v", rel.Status.Build)
	}
}

// finishJob plays the kubelet and the Job controller: the build pod ends with the
// message, and the Job is marked complete or failed.
func finishJob(t *testing.T, cs kubernetes.Interface, job *batchv1.Job, ok bool, message string) {
	t.Helper()
	finishJobWith(t, cs, job, ok, map[string]string{"build": message})
}

// finishJobWith ends the build pod's containers with their messages (by name); on
// failure the last container named fails, the others succeed.
func finishJobWith(t *testing.T, cs kubernetes.Interface, job *batchv1.Job, ok bool, messages map[string]string) {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-x", Namespace: job.Namespace, Labels: map[string]string{batchv1.JobNameLabel: job.Name}},
		Spec: *job.Spec.Template.Spec.DeepCopy()}
	created, err := cs.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	must(t, err)
	created.Status.Phase = corev1.PodSucceeded
	if !ok {
		created.Status.Phase = corev1.PodFailed
	}
	status := func(ctr corev1.Container, last bool) corev1.ContainerStatus {
		exit := int32(0)
		if !ok && last {
			exit = 1
		}
		return corev1.ContainerStatus{Name: ctr.Name, Image: ctr.Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: messages[ctr.Name]}}}
	}
	spec := job.Spec.Template.Spec
	for _, ctr := range spec.InitContainers {
		created.Status.InitContainerStatuses = append(created.Status.InitContainerStatuses, status(ctr, false))
	}
	for i, ctr := range spec.Containers {
		created.Status.ContainerStatuses = append(created.Status.ContainerStatuses, status(ctr, i == len(spec.Containers)-1))
	}
	_, err = cs.CoreV1().Pods(job.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	must(t, err)
	now := metav1.Now()
	job.Status.StartTime = &now
	if ok {
		job.Status.Succeeded = 1
		job.Status.CompletionTime = &now
		job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	} else {
		job.Status.Failed = 1
		job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now}}
	}
	_, err = cs.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
	must(t, err)
}

func waitJob(t *testing.T, cs kubernetes.Interface, name string) *batchv1.Job {
	t.Helper()
	var job *batchv1.Job
	eventually(t, func() error {
		var err error
		job, err = cs.BatchV1().Jobs("default").Get(context.Background(), name, metav1.GetOptions{})
		return err
	})
	return job
}

func waitRel(t *testing.T, c client.Client, name string, ok func(*ferryv1.Release) bool) *ferryv1.Release {
	t.Helper()
	r := &ferryv1.Release{}
	eventually(t, func() error {
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, r); err != nil {
			return err
		}
		if !ok(r) {
			return fmt.Errorf("release %s: %+v", name, r.Status)
		}
		return nil
	})
	return r
}

func promotions(t *testing.T, c client.Client) int {
	t.Helper()
	list := &ferryv1.PromotionList{}
	must(t, c.List(context.Background(), list, client.InNamespace("default")))
	return len(list.Items)
}
