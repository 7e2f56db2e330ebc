//go:build integration

package changerecord_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/controller/changerecord"
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
	snow := &fakeServiceNow{byCorrelation: map[string]map[string]any{}}
	snowSrv := httptest.NewServer(snow)
	defer snowSrv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := kubernetes.NewForConfigOrDie(rc).CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "servicenow"},
		Data: map[string][]byte{"username": []byte("ferry-bot"), "password": []byte("pa55")}}, metav1.CreateOptions{})
	must(t, err)
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true,
			ServiceNow: &changerecord.ServiceNow{URL: snowSrv.URL, Secret: "default/servicenow"}})
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
			return r.Status.Result != ferryv1.ChangeOpen && r.Status.Result != "" && r.Status.ServiceNow != nil && r.Status.ServiceNow.Closed
		})
		snow.check(t, rec, map[string]string{"1.0.0": "successful", "1.1.0": "successful_issues"}[v])
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
		// Its opening and closing are Events on the record.
		testenv.Eventually(t, 10*time.Second, func() error {
			list, err := cs.EventsV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "regarding.kind=ChangeRecord,regarding.name=" + name + "-prod"})
			if err != nil {
				return err
			}
			var seen []string
			for _, e := range list.Items {
				seen = append(seen, e.Reason+": "+e.Note)
			}
			wantEvents := []string{"Opened: change of web to " + v + " in prod opened", "Closed: closed " + string(want) + ": " + rec.Status.Message}
			slices.Sort(seen)
			slices.Sort(wantEvents)
			if !slices.Equal(seen, wantEvents) {
				return fmt.Errorf("events %q, want %q", seen, wantEvents)
			}
			return nil
		})
		if v == "1.1.0" && (!strings.Contains(rec.Status.Message, "error budget exceeded") || !strings.Contains(rec.Status.Message, "rolled back to 1.0.0")) {
			t.Errorf("1.1.0: message %s", rec.Status.Message)
		}
	}
	// The rollback returned to a recorded version: it is part of 1.1.0's record, not a
	// record of its own; and a stage without change records gets none.
	list := &ferryv1.ChangeRecordList{}
	must(t, c.List(ctx, list, client.InNamespace("default")))
	if len(list.Items) != 2 || snow.posts != 2 {
		t.Errorf("%d change records, %d change requests made in ServiceNow; want 2 of each", len(list.Items), snow.posts)
	}
}

// fakeServiceNow is the Table API of change_request as ServiceNow documents it: a GET
// with sysparm_query, a POST that answers 201 with the new record under "result", a
// PATCH of /change_request/SYS_ID; basic authentication and JSON both ways. It keeps
// what it was sent, and notes whatever ServiceNow would refuse.
type fakeServiceNow struct {
	mu            sync.Mutex
	problems      []string
	byCorrelation map[string]map[string]any
	bySysID       map[string]map[string]any
	posts         int
}

func (f *fakeServiceNow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bySysID == nil {
		f.bySysID = map[string]map[string]any{}
	}
	if u, p, ok := r.BasicAuth(); !ok || u != "ferry-bot" || p != "pa55" {
		f.problems = append(f.problems, "authentication of "+r.Method)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Accept") != "application/json" || r.Method != http.MethodGet && r.Header.Get("Content-Type") != "application/json" {
		f.problems = append(f.problems, "headers of "+r.Method+": "+r.Header.Get("Accept")+" "+r.Header.Get("Content-Type"))
	}
	const table = "/api/now/table/change_request"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == table:
		q := r.URL.Query()
		id, _ := strings.CutPrefix(q.Get("sysparm_query"), "correlation_id=")
		var result []any
		if cr, ok := f.byCorrelation[id]; ok && q.Get("sysparm_limit") == "1" {
			result = append(result, map[string]any{"sys_id": cr["sys_id"], "number": cr["number"]})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"result": result})
	case r.Method == http.MethodPost && r.URL.Path == table:
		var cr map[string]any
		if err := json.NewDecoder(r.Body).Decode(&cr); err != nil {
			f.problems = append(f.problems, "a POST body that is not JSON")
		}
		f.posts++
		cr["sys_id"], cr["number"] = fmt.Sprintf("5n%030d", f.posts), fmt.Sprintf("CHG%07d", 30000+f.posts)
		f.byCorrelation[fmt.Sprint(cr["correlation_id"])] = cr
		f.bySysID[fmt.Sprint(cr["sys_id"])] = cr
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"result": cr})
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, table+"/"):
		cr, ok := f.bySysID[strings.TrimPrefix(r.URL.Path, table+"/")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		var change map[string]any
		if err := json.NewDecoder(r.Body).Decode(&change); err != nil {
			f.problems = append(f.problems, "a PATCH body that is not JSON")
		}
		for k, v := range change {
			cr[k] = v
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"result": cr})
	default:
		f.problems = append(f.problems, r.Method+" "+r.URL.Path)
		w.WriteHeader(http.StatusBadRequest)
	}
}

// check compares the change request of the record with what it should hold.
func (f *fakeServiceNow) check(t *testing.T, rec *ferryv1.ChangeRecord, closeCode string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.problems) > 0 {
		t.Errorf("requests ServiceNow would refuse: %v", f.problems)
	}
	cr := f.byCorrelation[string(rec.UID)]
	s := rec.Spec
	want := map[string]string{
		"short_description": "Deploy web " + s.Version + " to prod", "type": "standard", "correlation_id": string(rec.UID),
		"start_date": s.OpenedAt.UTC().Format("2006-01-02 15:04:05"), "end_date": rec.Status.ClosedAt.UTC().Format("2006-01-02 15:04:05"),
		"state": "3", "close_code": closeCode, "sys_id": rec.Status.ServiceNow.SysID, "number": rec.Status.ServiceNow.Number,
	}
	for k, v := range want {
		if fmt.Sprint(cr[k]) != v {
			t.Errorf("%s: change_request %s = %v, want %s", s.Version, k, cr[k], v)
		}
	}
	desc, notes := fmt.Sprint(cr["description"]), fmt.Sprint(cr["close_notes"])
	if !strings.Contains(desc, "Commit: https://git.example.com/shop/web "+s.Commit) || !strings.Contains(desc, "Approved by: ann (leads)") {
		t.Errorf("%s: description %q", s.Version, desc)
	}
	if !strings.HasPrefix(notes, rec.Status.Message) || !strings.Contains(notes, "\ndeploy: Succeeded in ") {
		t.Errorf("%s: close notes %q", s.Version, notes)
	}
	if len(cr) != len(want)+2 {
		t.Errorf("%s: change_request fields %v", s.Version, cr)
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
