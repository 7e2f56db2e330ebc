//go:build integration

package release

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/imagebuild"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// TestCreateRelease pushes an image to a registry on loopback, then makes Releases of it
// in a real API server.
func TestCreateRelease(t *testing.T) {
	rc := testenv.Start(t, "../../config/crd")
	ctx := context.Background()
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		t.Fatal(err)
	}
	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := imagebuild.Push(ctx, img, host+"/hello:1.2.0", true)
	if err != nil {
		t.Fatal(err)
	}
	app := &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: "build: {artifact: hello}\n",
			Stages: []ferryv1.StageSpec{{Name: "dev", Clusters: []string{"local"}}}},
	}
	if err := c.Create(ctx, app); err != nil {
		t.Fatal(err)
	}

	rel, err := Create(ctx, c, Registry{}, Options{Namespace: "default", Application: "hello", Image: host + "/hello:1.2.0",
		Commit: "0123456789abcdef0123456789abcdef01234567", Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if rel.Name != "hello-1-2-0" || rel.Spec.Version != "1.2.0" || rel.Spec.Flow != ferryv1.FlowRelease {
		t.Errorf("release %s version %s flow %s", rel.Name, rel.Spec.Version, rel.Spec.Flow)
	}
	if rel.Spec.Images[0].Digest != pushed.Digest || rel.Spec.AppFile != app.Spec.AppFile {
		t.Errorf("digest %s, pushed %s", rel.Spec.Images[0].Digest, pushed.Digest)
	}

	_, err = Create(ctx, c, Registry{}, Options{Namespace: "default", Application: "hello", Image: host + "/hello:1.2.0", Version: "1.1.0"})
	if err == nil || !strings.Contains(err.Error(), "not above the highest release 1.2.0") {
		t.Errorf("older version: err = %v", err)
	}
	pr, err := Create(ctx, c, Registry{}, Options{Namespace: "default", Application: "hello", Image: host + "/hello:1.2.0",
		Version: "1.3.0-pr.7", Commit: "abcdef1", Branch: "feature", PullRequest: 7})
	if err != nil || pr.Spec.Flow != ferryv1.FlowPR || *pr.Spec.Git.PullRequest != 7 {
		t.Errorf("pr release: %+v %v", pr, err)
	}
	_, err = Create(ctx, c, Registry{}, Options{Namespace: "default", Application: "hello", Image: host + "/hello:9.9.9"})
	if err == nil || !strings.Contains(err.Error(), "resolving "+host+"/hello:9.9.9 in registry "+host) {
		t.Errorf("missing tag: err = %v", err)
	}
	reg.Close()
	shortCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = Create(shortCtx, c, Registry{}, Options{Namespace: "default", Application: "hello", Image: host + "/hello:1.2.0", Version: "2.0.0"})
	if err == nil || !strings.Contains(err.Error(), "in registry "+host) {
		t.Errorf("registry down: err = %v", err)
	}
	list := &ferryv1.ReleaseList{}
	if err := c.List(ctx, list); err != nil || len(list.Items) != 2 {
		t.Errorf("%d releases after the refusals, want 2 (%v)", len(list.Items), err)
	}
}
