//go:build integration

package imagewatch_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

const appFile = `build: {buildType: go, artifact: hello}
deploy:
  namespace: hello-watch
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// TestImageWatchMakesReleases runs the controller against a real API server and
// Debian's registry: with the range ~1.2, 1.2.0 becomes a Release, 1.3.0 is ignored and
// 1.2.1 is taken; a watch with bad credentials says Unauthorized, naming the registry
// and the 401, and makes no Release; the registry stopped gives RegistryUnreachable and
// no Release, and the watch recovers when it is back; a spec the API server cannot
// check (a broken range) says InvalidSpec.
func TestImageWatchMakesReleases(t *testing.T) {
	rc := testenv.Start(t, "../../../config/crd")
	reg := testenv.StartRegistry(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true})
	}()
	defer func() { cancel(); must(t, <-done) }()
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}}}))
	secret := func(name, pass string) {
		auth := base64.StdEncoding.EncodeToString([]byte(reg.User + ":" + pass))
		_, err := cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + reg.Addr + `":{"auth":"` + auth + `"}}}`)}}, metav1.CreateOptions{})
		must(t, err)
	}
	secret("registry", reg.Password)
	secret("wrong", "not-the-password")
	d120 := reg.Push("hello", "1.2.0")
	watch := func(name, secretName, rng string) {
		must(t, c.Create(ctx, &ferryv1.ImageWatch{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: ferryv1.ImageWatchSpec{Repository: reg.Addr + "/hello", Semver: rng, Interval: &metav1.Duration{Duration: time.Second},
				SecretRef: &ferryv1.LocalObjectReference{Name: secretName}, Application: "hello", AutoRelease: true}}))
	}
	watch("hello", "registry", "~1.2")
	iw := waitWatch(t, c, "hello", func(iw *ferryv1.ImageWatch) bool { return iw.Status.Release == "hello-1-2-0" })
	if iw.Status.Tag != "1.2.0" || iw.Status.Digest != d120 || iw.Status.PolledAt == nil {
		t.Errorf("status %+v", iw.Status)
	}
	rel := &ferryv1.Release{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello-1-2-0"}, rel))
	if img := rel.Spec.Images[0]; img.Repository != reg.Addr+"/hello" || img.Tag != "1.2.0" || img.Digest != d120 || rel.Spec.Version != "1.2.0" ||
		rel.Annotations[ferryv1.AnnotationCreatedBy] != "imagewatch/hello" {
		t.Errorf("release %+v %v", rel.Spec, rel.Annotations)
	}

	reg.Push("hello", "1.3.0")
	d121 := reg.Push("hello", "1.2.1")
	waitWatch(t, c, "hello", func(iw *ferryv1.ImageWatch) bool {
		return iw.Status.Release == "hello-1-2-1" && iw.Status.Digest == d121
	})

	watch("wrong", "wrong", "~1.2")
	iw = waitWatch(t, c, "wrong", func(iw *ferryv1.ImageWatch) bool { return ready(iw) != nil && ready(iw).Reason == "Unauthorized" })
	if msg := ready(iw).Message; !strings.Contains(msg, "registry "+reg.Addr+" answered 401 Unauthorized") || strings.Contains(msg, "not-the-password") {
		t.Errorf("unauthorized message %q", msg)
	}

	reg.Stop()
	iw = waitWatch(t, c, "hello", func(iw *ferryv1.ImageWatch) bool { return ready(iw).Reason == "RegistryUnreachable" })
	if !strings.Contains(ready(iw).Message, reg.Addr) {
		t.Errorf("unreachable message %q", ready(iw).Message)
	}
	reg.Start()
	waitWatch(t, c, "hello", func(iw *ferryv1.ImageWatch) bool { return ready(iw).Reason == "Released" })
	list := &ferryv1.ReleaseList{}
	must(t, c.List(ctx, list, client.InNamespace("default")))
	var names []string
	for _, r := range list.Items {
		names = append(names, r.Name)
	}
	if fmt.Sprint(names) != "[hello-1-2-0 hello-1-2-1]" {
		t.Errorf("releases %v, want hello-1-2-0 and hello-1-2-1 only", names)
	}

	watch("broken", "registry", "~1.x.banana")
	iw = waitWatch(t, c, "broken", func(iw *ferryv1.ImageWatch) bool { return ready(iw) != nil && ready(iw).Reason == "InvalidSpec" })
	if !strings.Contains(ready(iw).Message, `semver "~1.x.banana"`) {
		t.Errorf("invalid spec message %q", ready(iw).Message)
	}
}

func ready(iw *ferryv1.ImageWatch) *metav1.Condition {
	return apimeta.FindStatusCondition(iw.Status.Conditions, ferryv1.ConditionReady)
}

func waitWatch(t *testing.T, c client.Client, name string, ok func(*ferryv1.ImageWatch) bool) *ferryv1.ImageWatch {
	t.Helper()
	iw := &ferryv1.ImageWatch{}
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, iw); err != nil {
			return err
		}
		if ready(iw) == nil || !ok(iw) {
			return fmt.Errorf("status %+v", iw.Status)
		}
		return nil
	})
	return iw
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
