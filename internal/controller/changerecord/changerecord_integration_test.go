//go:build integration

package changerecord_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/testenv"
)

// appFile keeps change records in prod, which ann's group approves; its post-deploy
// check (a webhook) refuses version 1.1.0.
const appFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-changes
  createChangeRecord: true
  postDeploy:
    - webhook: {name: check, url: "%s"}
  helm:
    values:
      scaling: {enabled: false, min: 1}
  stages:
    - {name: prod, flows: [release], target: [{cluster_id: [local]}], approvers: {groups: [leads]}}
`

// TestChangeRecordsOpenAndClose delivers 1.0.0 into prod with ann's approval: its
// record opens with the commit, the repository, the version and ann, and closes
// Succeeded with the deployment log. 1.1.0 fails its post-deploy check and prod rolls
// back to 1.0.0: its record closes SucceededWithIssues.
func TestChangeRecordsOpenAndClose(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	rc := env.Config
	check := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"version":"1.1.0"`) {
			http.Error(w, "error budget exceeded", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer check.Close()
	file := fmt.Sprintf(appFile, check.URL)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	}()
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	go testenv.ReportEveryRollout(ctx, cs, "web-changes")
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: file, Stages: []ferryv1.StageSpec{
			{Name: "prod", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}, ApproverGroups: []string{"leads"}}}}}))

	for i, v := range []string{"1.0.0", "1.1.0"} {
		name := "web-" + strings.ReplaceAll(v, ".", "-")
		must(t, c.Create(ctx, &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{ferryv1.LabelApplication: "web"}},
			Spec: ferryv1.ReleaseSpec{Application: "web", Version: v, Flow: "release", AppFile: file,
				Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/web", Tag: v, Digest: "sha256:" + fmt.Sprintf("%064x", i+1)}},
				Git:    &ferryv1.GitInfo{Commit: fmt.Sprintf("%040x", i+10), RepoURL: "https://git.example.com/shop/web"}}}))
		testenv.Eventually(t, 60*time.Second, func() error {
			_, err := approval.Decide(ctx, c, approval.Identity{User: "ann", Groups: []string{"leads"}},
				approval.Request{Namespace: "default", Application: "web", Stage: "prod", Decision: ferryv1.DecisionApprove, Reason: "reviewed"})
			return err
		})
		rec := waitRecord(t, c, name+"-prod", func(r *ferryv1.ChangeRecord) bool {
			return r.Status.Result != ferryv1.ChangeOpen && r.Status.Result != ""
		})
		s := rec.Spec
		if s.Application != "web" || s.Stage != "prod" || s.Release != name || s.Version != v || s.Promotion != name+"-prod" ||
			s.Commit != fmt.Sprintf("%040x", i+10) || s.RepoURL != "https://git.example.com/shop/web" ||
			len(s.Approvers) != 1 || s.Approvers[0].User != "ann" || s.Approvers[0].Group != "leads" || s.OpenedAt.IsZero() {
			t.Errorf("%s: record %+v", v, s)
		}
		if rec.Status.ClosedAt == nil || rec.Status.ClosedAt.Before(&s.OpenedAt) || len(rec.Status.Log) < 5 ||
			!strings.HasPrefix(rec.Status.Log[4], "deploy: Succeeded in ") {
			t.Errorf("%s: closed %v, log %q", v, rec.Status.ClosedAt, rec.Status.Log)
		}
		want := map[string]ferryv1.ChangeResult{"1.0.0": ferryv1.ChangeSucceeded, "1.1.0": ferryv1.ChangeSucceededWithIssues}[v]
		if rec.Status.Result != want {
			t.Errorf("%s: result %s (%s), want %s", v, rec.Status.Result, rec.Status.Message, want)
		}
		if v == "1.1.0" && (!strings.Contains(rec.Status.Message, "error budget exceeded") || !strings.Contains(rec.Status.Message, "rolled back to 1.0.0")) {
			t.Errorf("1.1.0: message %s", rec.Status.Message)
		}
	}
	// The rollback returned to a recorded version: it is part of 1.1.0's record, not a
	// record of its own; and a stage without change records gets none.
	list := &ferryv1.ChangeRecordList{}
	must(t, c.List(ctx, list, client.InNamespace("default")))
	if len(list.Items) != 2 {
		t.Errorf("%d change records, want 2", len(list.Items))
	}
}

func waitRecord(t *testing.T, c client.Client, name string, ok func(*ferryv1.ChangeRecord) bool) *ferryv1.ChangeRecord {
	t.Helper()
	r := &ferryv1.ChangeRecord{}
	testenv.Eventually(t, 60*time.Second, func() error {
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, r); err != nil {
			return err
		}
		if !ok(r) {
			return fmt.Errorf("record %s: %+v", name, r.Status)
		}
		return nil
	})
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
