//go:build e2e

package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/amconfig"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/appobject"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/devcluster"
	"ferry.dev/ferry/internal/imagebuild"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/release"
	"ferry.dev/ferry/internal/render"
	"ferry.dev/ferry/internal/rulefiles"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

const (
	appNS   = "e2e-alerts"
	stageNS = "e2e-alerts-hello"
	version = "6.6.6"
	// fireWithin bounds the wait from the first crash to the alert firing: the kubelet's
	// first back-off (10 s), a scrape and an evaluation (5 s each), the rule's 1 minute.
	fireWithin = 3 * time.Minute
	// notifyWithin bounds the wait from the alert firing to its Slack message and mail:
	// Alertmanager's first wait for the group (10 s in the dev cluster), then delivery.
	notifyWithin = time.Minute
)

// crashApp is hello with alert routes; its image exits at start (HELLO_ERROR_RATE out of
// range), so its pod crash-loops. The deploy timeout outlasts the test: the deployment
// stays in place while the alert is awaited.
const crashApp = `profiles: [go-service]
build: {buildType: go, artifact: hello}
alerts: {slackChannel: hello-oncall, email: [oncall@hello.test, sre@hello.test]}
deploy:
  namespace: ` + stageNS + `
  releaseType: {deployTimeout: 900}
  helm:
    values:
      scaling: {enabled: false, min: 1}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [dev-local]}]}
`

// TestCrashLoopingAlertFires deploys a release whose pod crash-loops through the
// controller, and waits for the dev cluster's real Prometheus to fire the application's
// CrashLooping alert, carrying the app's Slack channel and email routes, and for its real
// Alertmanager to route it, as the app's AlertmanagerConfig says, to a Slack webhook
// and an SMTP server on loopback. It then deletes the PrometheusRule and the
// AlertmanagerConfig and checks that they leave Prometheus and Alertmanager.
func TestCrashLoopingAlertFires(t *testing.T) {
	slack := startSlack(t)
	smtp := startSMTP(t)
	e := up(t, smtp.addr)
	ctx := context.Background()
	stop := e.runController(t)
	e.buildImage(t, "hello:"+version, "-X main.version="+version, "HELLO_ERROR_RATE=2")
	e.createAlertsSecret(t, slack.url)
	e.createApp(t)
	if _, err := release.Create(ctx, e.ferry(t), release.Registry{}, release.Options{Namespace: appNS, Application: "hello",
		Image: e.cfg.RegistryAddr + "/hello:" + version}); err != nil {
		t.Fatal(err)
	}

	crashedAt := e.firstCrash(t, 3*time.Minute)
	t.Logf("hello's container first exited at %s", crashedAt.Format(time.RFC3339))
	alert := e.waitFiring(t, crashedAt.Add(fireWithin))
	t.Logf("HelloCrashLooping pending %s and firing %s after the first crash; labels %v",
		alert.ActiveAt.Sub(crashedAt).Round(time.Second), time.Since(crashedAt).Round(time.Second), alert.Labels)
	msg := waitSlack(t, slack, notifyWithin)
	t.Logf("the Slack message came %s after the first crash", msg.at.Sub(crashedAt).Round(time.Second))
	m := waitMail(t, smtp, notifyWithin)
	t.Logf("the mail came %s after the first crash", m.at.Sub(crashedAt).Round(time.Second))

	// The controller would apply the rule again; the deletion is the test's alone.
	stop()
	file := filepath.Join(e.cfg.RuleFilesDir(), rulefiles.FileName(stageNS, "hello"))
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the rule file of hello's PrometheusRule: %v", err)
	}
	dyn := dynamic.NewForConfigOrDie(e.rc)
	if err := dyn.Resource(rulefiles.Resource).Namespace(stageNS).Delete(ctx, "hello", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := dyn.Resource(amconfig.Resource).Namespace(stageNS).Delete(ctx, "hello", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e2ekit.Eventually(t, 30*time.Second, "hello's receivers leave Alertmanager", func() error {
		cfg, err := alertmanagerConfig(e.cfg.AlertmanagerAddr)
		if err != nil {
			return err
		}
		if strings.Contains(cfg, stageNS+"/hello/") {
			return fmt.Errorf("Alertmanager's config still names hello's receivers:\n%s", cfg)
		}
		return nil
	})
	e2ekit.Eventually(t, 30*time.Second, "the rule file and its group leave Prometheus", func() error {
		if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s still there (stat: %w)", file, err)
		}
		files, err := ruleGroupFiles(e.cfg.PrometheusAddr)
		if err != nil {
			return err
		}
		for _, f := range files {
			if f == file {
				return fmt.Errorf("Prometheus still evaluates %s", f)
			}
		}
		return nil
	})
}

type env struct {
	cfg devcluster.Config
	rc  *rest.Config
	cs  kubernetes.Interface
}

// up brings the dev cluster up for the test, its alert mail going to smtpAddr, and takes
// it down when the test ends, keeping the component logs of a failed run in
// artifacts/alerts-logs.
func up(t *testing.T, smtpAddr string) *env {
	t.Helper()
	cfg := devcluster.DefaultConfig()
	cfg.Out = e2ekit.LogWriter{T: t}
	cfg.AlertSMTPAddr = smtpAddr
	cfg.FerryBin = e2ekit.BuildFerry(t)
	t.Cleanup(func() {
		if t.Failed() {
			e2ekit.SaveLogs(t, cfg, "alerts-logs")
		}
		if err := devcluster.Down(cfg); err != nil {
			t.Errorf("dev down: %v", err)
		}
	})
	start := time.Now()
	if err := devcluster.Up(context.Background(), cfg); err != nil {
		t.Fatalf("dev up: %v", err)
	}
	t.Logf("dev up took %s", time.Since(start).Round(time.Second))
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.AdminKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	return &env{cfg: cfg, rc: rc, cs: kubernetes.NewForConfigOrDie(rc)}
}

// runController runs the controller in this process; the returned function stops it
// (the test's end stops it too).
func (e *env) runController(t *testing.T) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, e.rc, controller.Options{MetricsAddr: "0", ProbeAddr: "0", Namespace: appNS, SeveralPerProcess: true})
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func (e *env) ferry(t *testing.T) client.Client {
	t.Helper()
	c, err := kubeclient.Ferry(e.rc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createAlertsSecret makes the stage's namespace with the Secret its Slack alerts'
// webhook URL is read from, as the cluster's operator does once per namespace.
func (e *env) createAlertsSecret(t *testing.T, slackURL string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stageNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: render.AlertsSecret, Namespace: stageNS},
		StringData: map[string]string{render.AlertsSecretSlackKey: slackURL}}
	if _, err := e.cs.CoreV1().Secrets(stageNS).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createApp makes the app's namespace with the Cluster dev-local (the dev cluster
// itself) and the Application, as `ferry apply` does.
func (e *env) createApp(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := e.ferry(t)
	if err := c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "dev-local", Namespace: appNS}}); err != nil {
		t.Fatal(err)
	}
	f, err := appfile.LoadBytes("ferry.yml", []byte(crashApp), e2ekit.RepoRoot(t), appfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := appobject.Build(f, appNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
}

// buildImage builds examples/hello into the local registry, with env set in the image.
func (e *env) buildImage(t *testing.T, ref, ldflags string, env ...string) {
	t.Helper()
	if _, err := imagebuild.Build(context.Background(), imagebuild.Options{Dir: e2ekit.RepoRoot(t), Package: "./examples/hello",
		Ref: e.cfg.RegistryAddr + "/" + ref, LDFlags: ldflags, Env: env, Insecure: true}); err != nil {
		t.Fatal(err)
	}
}

// firstCrash waits for hello's container to have exited and returns when it first did.
func (e *env) firstCrash(t *testing.T, timeout time.Duration) time.Time {
	t.Helper()
	var at time.Time
	e2ekit.Eventually(t, timeout, "hello's container exits", func() error {
		pods, err := e.cs.CoreV1().Pods(stageNS).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=hello"})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if term := cs.LastTerminationState.Terminated; term != nil && cs.RestartCount == 1 {
					at = term.FinishedAt.Time
					return nil
				}
				if term := cs.State.Terminated; term != nil && cs.RestartCount == 0 {
					at = term.FinishedAt.Time
					return nil
				}
			}
		}
		return fmt.Errorf("%d pods, none whose container has exited once", len(pods.Items))
	})
	return at
}

type promAlert struct {
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"`
	ActiveAt time.Time         `json:"activeAt"`
}

// waitFiring waits until Prometheus's alerts API shows HelloCrashLooping firing for the
// stage's namespace, with the app's alert routes; it fails the test at the deadline.
func (e *env) waitFiring(t *testing.T, deadline time.Time) promAlert {
	t.Helper()
	var found promAlert
	e2ekit.Eventually(t, time.Until(deadline), "HelloCrashLooping fires in Prometheus", func() error {
		alerts, err := activeAlerts(e.cfg.PrometheusAddr)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if a.Labels["alertname"] != "HelloCrashLooping" || a.Labels["namespace"] != stageNS {
				continue
			}
			if a.State != "firing" {
				return fmt.Errorf("HelloCrashLooping is %s", a.State)
			}
			want := map[string]string{"slack_channel": "hello-oncall", "email": "oncall@hello.test,sre@hello.test",
				"app": "hello", "stage": "dev", "container": "hello", "reason": "CrashLoopBackOff"}
			for k, v := range want {
				if a.Labels[k] != v {
					t.Fatalf("firing alert's %s = %q, want %q (labels %v)", k, a.Labels[k], v, a.Labels)
				}
			}
			found = a
			return nil
		}
		return fmt.Errorf("no HelloCrashLooping alert among %d", len(alerts))
	})
	return found
}

// waitSlack waits for the firing HelloCrashLooping message in the app's channel, sent
// through the app's own receiver, saying which pod crash-loops.
func waitSlack(t *testing.T, h *slackHook, timeout time.Duration) received[slackMessage] {
	t.Helper()
	var got received[slackMessage]
	e2ekit.Eventually(t, timeout, "the Slack message of HelloCrashLooping", func() error {
		var ok bool
		if got, ok = h.firing("HelloCrashLooping"); !ok {
			return errors.New("no firing HelloCrashLooping message yet")
		}
		return nil
	})
	m := got.msg
	a := m.Attachments[0]
	receiver := url.QueryEscape(stageNS + "/hello/slack")
	switch {
	case m.Channel != "hello-oncall" || m.Username != "Alertmanager" || len(m.Attachments) != 1:
		t.Fatalf("Slack message to %q from %q with %d attachments, want one to hello-oncall from Alertmanager", m.Channel, m.Username, len(m.Attachments))
	case !strings.HasPrefix(a.Title, "[FIRING:1] HelloCrashLooping") || a.Color != "danger":
		t.Fatalf("attachment title %q, color %q", a.Title, a.Color)
	case !strings.Contains(a.Text, "hello container hello in hello-") || !strings.Contains(a.Text, "is crash looping"):
		t.Fatalf("attachment text %q does not say which pod crash-loops", a.Text)
	case !strings.Contains(a.TitleLink, "receiver="+receiver):
		t.Fatalf("title link %q does not name the receiver %s", a.TitleLink, receiver)
	}
	return got
}

// waitMail waits for the firing HelloCrashLooping mail to both of the app's addresses.
func waitMail(t *testing.T, s *smtpServer, timeout time.Duration) received[*mail.Message] {
	t.Helper()
	var got received[*mail.Message]
	e2ekit.Eventually(t, timeout, "the mail of HelloCrashLooping", func() error {
		var ok bool
		if got, ok = s.firing(t, "HelloCrashLooping"); !ok {
			return errors.New("no firing HelloCrashLooping mail yet")
		}
		return nil
	})
	h := got.msg.Header
	for _, addr := range []string{"oncall@hello.test", "sre@hello.test"} {
		if !strings.Contains(h.Get("To"), addr) || !strings.Contains(h.Get("X-RcptTo"), addr) {
			t.Fatalf("mail To %q, envelope %q: want %s in both", h.Get("To"), h.Get("X-RcptTo"), addr)
		}
	}
	if from := devcluster.DefaultConfig().AlertSMTPFrom; !strings.Contains(h.Get("From"), from) {
		t.Fatalf("mail from %q, want %s", h.Get("From"), from)
	}
	return got
}

// alertmanagerConfig is the config Alertmanager runs, from its status API.
func alertmanagerConfig(addr string) (string, error) {
	var r struct {
		Config struct {
			Original string `json:"original"`
		} `json:"config"`
	}
	err := getJSON("http://"+addr+"/api/v2/status", &r)
	return r.Config.Original, err
}

// activeAlerts reads Prometheus's /api/v1/alerts.
func activeAlerts(addr string) ([]promAlert, error) {
	var r struct {
		Data struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	return r.Data.Alerts, getJSON("http://"+addr+"/api/v1/alerts", &r)
}

// ruleGroupFiles lists the files of the rule groups Prometheus evaluates.
func ruleGroupFiles(addr string) ([]string, error) {
	var r struct {
		Data struct {
			Groups []struct {
				File string `json:"file"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := getJSON("http://"+addr+"/api/v1/rules", &r); err != nil {
		return nil, err
	}
	var files []string
	for _, g := range r.Data.Groups {
		files = append(files, g.File)
	}
	return files, nil
}

func getJSON(url string, v any) error {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
