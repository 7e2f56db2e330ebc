//go:build integration

package promotion_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/cli/logs"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/controller/application"
	"ferry.dev/ferry/internal/controller/promotion"
	"ferry.dev/ferry/internal/controller/release"
	"ferry.dev/ferry/internal/hooklog"
	"ferry.dev/ferry/internal/testenv"
)

const loggedApp = `build: {buildType: go, artifact: web}
deploy:
  namespace: web-logged
  preDeploy:
    - job: {name: migrate, action: create, image: registry.example.com/migrate:1, pollPeriodSeconds: 1}
    - job: {name: quiet, action: create, image: registry.example.com/quiet:1, pollPeriodSeconds: 1, fetchJobLogsAfterPolling: "false"}
  postDeploy:
    - job: {name: check, action: create, image: registry.example.com/check:1, pollPeriodSeconds: 1}
    - job: {name: smoke, action: create, image: registry.example.com/smoke:1, pollPeriodSeconds: 1}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
`

// podLogs stands in for the kubelet, which the test's API server lacks: it serves each
// hook Job's log by the hook's name and counts the reads. The check hook's pod is gone.
type podLogs struct {
	mu    sync.Mutex
	reads map[string]int
}

var hookOutput = map[string]string{
	"migrate": "applying 0001_users\napplying 0002_orders\nmigrated to 0002\n",
	"smoke":   "GET /health 200\nGET /orders 200\nGET /orders/1 200\nGET /cart 200\nGET /checkout 503\nFAIL: /checkout answered 503\n",
}

func (l *podLogs) fetch(_ context.Context, _ kubernetes.Interface, ns, job string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads[job]++
	hook := job[:strings.LastIndex(job, "-")]
	if out, ok := hookOutput[hook]; ok {
		return out, nil
	}
	return "", errors.New("job " + ns + "/" + job + " has no pod left to read the log of")
}

// TestHookLogsAreKept checks that the log of each ended hook Job is read once and kept in
// a ConfigMap owned by the Promotion, not for a hook that says fetchJobLogsAfterPolling:
// false; that a failed hook's message ends with its log's last lines; and that `ferry
// logs` prints the kept logs in the order the hooks ran. Reading a real pod's log needs
// a kubelet: hooklog.Fetch runs for real only on the dev cluster.
func TestHookLogsAreKept(t *testing.T) {
	rc := testenv.Start(t, "../../../config/crd")
	pl := &podLogs{reads: map[string]int{}}
	startWithLogs(t, rc, pl.fetch)
	ctx := context.Background()
	scheme, err := controller.Scheme()
	must(t, err)
	c, err := client.New(rc, client.Options{Scheme: scheme})
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	must(t, c.Create(ctx, &ferryv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: loggedApp, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}}}},
	}))
	rel := newRelease("3.0.0", digest)
	rel.Spec.AppFile = loggedApp
	must(t, c.Create(ctx, rel))
	const name = "web-3-0-0-dev"

	migrate := waitJob(t, cs, "web-logged", "migrate")
	finishJob(t, cs, migrate, batchv1.JobComplete)
	finishJob(t, cs, waitJob(t, cs, "web-logged", "quiet"), batchv1.JobComplete)
	reportRolledOut(t, cs, "web-logged", "web")
	check := waitJob(t, cs, "web-logged", "check")
	finishJob(t, cs, check, batchv1.JobComplete)
	smoke := waitJob(t, cs, "web-logged", "smoke")
	// While smoke runs, the step looks at check's ended Job at each poll.
	waitPromotion(t, c, name, func(p *ferryv1.Promotion) bool {
		return hookOf(p, ferryv1.StepPostDeploy, "smoke").Phase == ferryv1.HookRunning && len(hookOf(p, ferryv1.StepPostDeploy, "check").Logs) == 1
	})
	// Give it a few polls (one a second) in which to read check's log again, wrongly.
	time.Sleep(3 * time.Second)
	finishJob(t, cs, smoke, batchv1.JobFailed)
	p := waitPromotion(t, c, name, func(p *ferryv1.Promotion) bool { return p.Status.Phase == ferryv1.PromotionFailed })

	wantMsg := "postDeploy failed: hook smoke (job web-logged/" + smoke.Name + " in local) failed: BackoffLimitExceeded; its log ends: " +
		`"GET /orders 200" "GET /orders/1 200" "GET /cart 200" "GET /checkout 503" "FAIL: /checkout answered 503"` +
		"; no earlier verified release to return dev to"
	if p.Status.Message != wantMsg {
		t.Errorf("message\n%s\nwant\n%s", p.Status.Message, wantMsg)
	}
	pl.mu.Lock()
	reads := fmt.Sprint(pl.reads)
	pl.mu.Unlock()
	if want := fmt.Sprint(map[string]int{migrate.Name: 1, check.Name: 1, smoke.Name: 1}); reads != want {
		t.Errorf("logs read %s, want %s (once per ended Job, none for quiet)", reads, want)
	}

	for _, tt := range []struct{ step, hook, log, err string }{
		{ferryv1.StepPreDeploy, "migrate", hookOutput["migrate"], ""},
		{ferryv1.StepPostDeploy, "check", "", "job web-logged/" + check.Name + " has no pod left to read the log of"},
		{ferryv1.StepPostDeploy, "smoke", hookOutput["smoke"], ""},
	} {
		cm := &corev1.ConfigMap{}
		cmName := name + "-" + strings.ToLower(tt.step) + "-" + tt.hook
		must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: cmName}, cm))
		if cm.Data[hooklog.DataKey] != tt.log || cm.Annotations[hooklog.AnnotationError] != tt.err ||
			cm.Labels[ferryv1.LabelPromotion] != name || cm.Labels[ferryv1.LabelStep] != tt.step || cm.Labels[ferryv1.LabelHook] != tt.hook {
			t.Errorf("configmap %s: labels %v annotations %v data %q", cmName, cm.Labels, cm.Annotations, cm.Data)
		}
		if refs := cm.OwnerReferences; len(refs) != 1 || refs[0].Kind != "Promotion" || refs[0].Name != name || refs[0].UID != p.UID {
			t.Errorf("configmap %s is owned by %+v, want the Promotion", cmName, refs)
		}
		if got := hookOf(p, tt.step, tt.hook).Logs; len(got) != 1 || got[0] != cmName {
			t.Errorf("hook %s/%s status lists logs %v", tt.step, tt.hook, got)
		}
	}
	if got := hookOf(p, ferryv1.StepPreDeploy, "quiet"); got.Phase != ferryv1.HookSucceeded || len(got.Logs) != 0 {
		t.Errorf("quiet hook status %+v, want succeeded without a log", got)
	}

	// ferry logs prints what was kept, in the order the hooks ran.
	var out bytes.Buffer
	must(t, logs.Print(ctx, c, "default", name, "", "", &out))
	want := "== preDeploy/migrate (job " + migrate.Name + ") ==\n" + hookOutput["migrate"] +
		"== postDeploy/check (job " + check.Name + ") ==\n(no log kept: job web-logged/" + check.Name + " has no pod left to read the log of)\n" +
		"== postDeploy/smoke (job " + smoke.Name + ") ==\n" + hookOutput["smoke"]
	if out.String() != want {
		t.Errorf("ferry logs printed\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	must(t, logs.Print(ctx, c, "default", name, ferryv1.StepPostDeploy, "smoke", &out))
	if want := "== postDeploy/smoke (job " + smoke.Name + ") ==\n" + hookOutput["smoke"]; out.String() != want {
		t.Errorf("ferry logs --step postDeploy --hook smoke printed\n%s", out.String())
	}
	if err := logs.Print(ctx, c, "default", name, ferryv1.StepPreDeploy, "quiet", &out); err == nil || err.Error() !=
		"promotion "+name+" kept no hook logs in step preDeploy of hook quiet (job hooks: preDeploy/quiet (succeeded); a log is kept when the job ends, unless the hook sets fetchJobLogsAfterPolling: false)" {
		t.Errorf("ferry logs of the quiet hook: %v", err)
	}
	if err := logs.Print(ctx, c, "default", "web-9-9-9-dev", "", "", &out); err == nil || err.Error() != "promotion web-9-9-9-dev does not exist in namespace default" {
		t.Errorf("ferry logs of a missing promotion: %v", err)
	}
}

// startWithLogs runs the reconcilers as `ferry controller` does, with the promotion
// reconciler reading hook logs through fetch.
func startWithLogs(t *testing.T, rc *rest.Config, fetch func(context.Context, kubernetes.Interface, string, string) (string, error)) {
	t.Helper()
	scheme, err := controller.Scheme()
	must(t, err)
	skip := true
	mgr, err := ctrl.NewManager(rc, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: ctrlconfig.Controller{SkipNameValidation: &skip}})
	must(t, err)
	must(t, (&application.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr))
	must(t, (&release.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr))
	must(t, (&promotion.Reconciler{Client: mgr.GetClient(), LocalConfig: rc, Logs: fetch}).SetupWithManager(mgr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		must(t, <-done)
	})
}
