//go:build integration

package preview

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/preview"
	"ferry.dev/ferry/internal/testenv"
)

const appFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web
  stages:
    - {name: dev, flows: [release, pr], target: [{cluster_id: [local]}]}
`

// TestDeleteAPullRequestsPreview runs `ferry preview delete` against a real API server,
// as a person with a kubeconfig would. No controller runs, so the Release carries no
// finalizer and goes at once.
func TestDeleteAPullRequestsPreview(t *testing.T) {
	rc := testenv.Start(t, "../../../config/crd")
	ctx := context.Background()
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: appFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release", "pr"}, Clusters: []string{"local"}},
		}},
	}))
	pr := int32(3)
	must(t, c.Create(ctx, &ferryv1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0-1-0", Namespace: "default"},
		Spec: ferryv1.ReleaseSpec{Application: "web", Version: "0.1.0", Flow: ferryv1.FlowPR, AppFile: appFile,
			Git:    &ferryv1.GitInfo{Commit: "abcdef1", PullRequest: &pr},
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/web", Digest: "sha256:" + fmt.Sprintf("%064x", 7)}}},
	}))
	cs := kubernetes.NewForConfigOrDie(rc)
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web-pr-3", Labels: preview.NamespaceLabels("web")}}, metav1.CreateOptions{})
	must(t, err)

	kubeconfig := testenv.Kubeconfig(t, rc)

	run := func() string {
		t.Helper()
		var out bytes.Buffer
		cmd := NewCommand(iostreams.Streams{Out: &out, Err: &out})
		cmd.SetArgs([]string{"delete", "web", "--pr", "3", "--kubeconfig", kubeconfig})
		must(t, cmd.ExecuteContext(ctx))
		return out.String()
	}
	if got, want := run(), "deleted namespace web-pr-3 in cluster local\ndeleted release web-0-1-0\n"; got != want {
		t.Errorf("first run printed:\n%s\nwant:\n%s", got, want)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "web-pr-3", metav1.GetOptions{})
	if err == nil && ns.DeletionTimestamp == nil {
		t.Errorf("namespace web-pr-3 is %s", ns.Status.Phase)
	}
	if got, want := run(), "no preview of web for pull request 3 in namespace default\n"; got != want {
		t.Errorf("second run printed:\n%s\nwant:\n%s", got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
