//go:build integration

package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	"ferry.dev/ferry/internal/controller/outbox"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/messages"
	"ferry.dev/ferry/internal/testenv"
)

// fakeSlack is Slack's chat.postMessage as the Web API documents it: a JSON body with
// channel, text and, for a reply, thread_ts; a bot token in the Authorization header;
// an answer {"ok": true, "ts": ...}. It refuses anything else, as Slack would.
type fakeSlack struct {
	mu       sync.Mutex
	posts    []post
	problems []string
	next     int
}

type post struct{ channel, text, thread, ts string }

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body map[string]string
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/api/chat.postMessage":
		f.problems = append(f.problems, r.Method+" "+r.URL.Path)
	case r.Header.Get("Authorization") != "Bearer xoxb-test-token":
		f.problems = append(f.problems, "authorization "+r.Header.Get("Authorization"))
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
		return
	case r.Header.Get("Content-Type") != "application/json; charset=utf-8":
		f.problems = append(f.problems, "content type "+r.Header.Get("Content-Type"))
	case json.NewDecoder(r.Body).Decode(&body) != nil:
		f.problems = append(f.problems, "a body that is not a JSON object of strings")
	default:
		for k := range body {
			if k != "channel" && k != "text" && k != "thread_ts" {
				f.problems = append(f.problems, "unexpected field "+k)
			}
		}
		f.next++
		ts := fmt.Sprintf("1764500000.%06d", f.next)
		f.posts = append(f.posts, post{body["channel"], body["text"], body["thread_ts"], ts})
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": body["channel"], "ts": ts})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_request"})
}

const slackApp = `build: {buildType: go, artifact: shop}
notify: {slack: {channelName: shop-deliveries}}
deploy:
  namespace: shop-slack
  helm:
    values:
      scaling: {enabled: false, min: 1}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [local]}]}
    - {name: prod, flows: [release], target: [{cluster_id: [local]}], approvers: {groups: [leads]}}
`

// TestSlackThreadPerDelivery delivers shop 2.0.0 through dev and prod, where ann
// approves: one thread tells it all, its first message naming the delivery, who asked
// and the commit, then one reply per step a person cares about, in the words of the
// operator's templates where it gave some (a stage's end; nothing for deploying), in
// the app file's channel rather than the controller's.
func TestSlackThreadPerDelivery(t *testing.T) {
	env := testenv.StartEnv(t, "../../../config/crd")
	rc := env.Config
	slack := &fakeSlack{}
	srv := httptest.NewServer(slack)
	defer srv.Close()
	c, err := kubeclient.Ferry(rc)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "slack"},
		Data: map[string][]byte{"token": []byte("xoxb-test-token\n")}}, metav1.CreateOptions{})
	must(t, err)
	go testenv.ReportEveryRollout(ctx, cs, "shop-slack")
	// The operator's templates: a stage's end in other words, no reply when deploying.
	templates := filepath.Join(t.TempDir(), "messages.yaml")
	must(t, os.WriteFile(templates, []byte(`slack: {done: ":white_check_mark: {{.Application}} {{.Version}} is live in {{.Stage}}", deploying: ""}`), 0o600))
	msgs, err := messages.Load(templates)
	must(t, err)
	stop := startWith(t, rc, controller.Options{Messages: msgs, EventSinks: []outbox.Sink{{Name: "slack", Slack: &outbox.Slack{Channel: "C0DELIVERY",
		TokenSecret: "default/slack/token", APIURL: srv.URL + "/api/", ApproveURL: "https://ferry.example.com/apps/APP/stages/STAGE"}}}})
	defer stop()
	must(t, c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "default"}}))
	must(t, c.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"},
		Spec: ferryv1.ApplicationSpec{AppFile: slackApp, Stages: []ferryv1.StageSpec{
			{Name: "dev", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}},
			{Name: "prod", Flows: []ferryv1.Flow{"release"}, Clusters: []string{"local"}, ApproverGroups: []string{"leads"}}}}}))
	must(t, c.Create(ctx, &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "shop-2-0-0", Namespace: "default",
		Labels: map[string]string{ferryv1.LabelApplication: "shop"}, Annotations: map[string]string{ferryv1.AnnotationCreatedBy: "carol"}},
		Spec: ferryv1.ReleaseSpec{Application: "shop", Version: "2.0.0", Flow: "release", AppFile: slackApp,
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.example.com/shop", Tag: "2.0.0", Digest: "sha256:" + fmt.Sprintf("%064x", 9)}},
			Git:    &ferryv1.GitInfo{Commit: "0123456789abcdef0123456789abcdef01234567", RepoURL: "https://git.example.com/team/shop"}}}))
	testenv.Eventually(t, 60*time.Second, func() error {
		_, err := approval.Decide(ctx, c, approval.Identity{User: "ann", Groups: []string{"leads"}},
			approval.Request{Namespace: "default", Application: "shop", Stage: "prod", Decision: ferryv1.DecisionApprove, Reason: "ok"})
		return err
	})
	testenv.Eventually(t, 60*time.Second, func() error {
		slack.mu.Lock()
		defer slack.mu.Unlock()
		if len(slack.posts) < 5 {
			return fmt.Errorf("%d posts so far", len(slack.posts))
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond) // nothing more comes
	slack.mu.Lock()
	defer slack.mu.Unlock()
	if len(slack.problems) > 0 {
		t.Errorf("requests Slack would refuse: %v", slack.problems)
	}
	root := slack.posts[0]
	if root.text != "delivery of shop 2.0.0 started by carol from https://git.example.com/team/shop@0123456789ab" || root.thread != "" || root.channel != "shop-deliveries" {
		t.Errorf("the thread's first message: %+v", root)
	}
	var replies []string
	for _, p := range slack.posts[1:] {
		if p.thread != root.ts || p.channel != "shop-deliveries" {
			t.Errorf("a message outside the thread: %+v", p)
		}
		replies = append(replies, p.text)
	}
	want := []string{
		":white_check_mark: shop 2.0.0 is live in dev",
		"approval needed in prod: waiting for 1 of [leads] to approve (0 so far); `ferry approve shop prod` or <https://ferry.example.com/apps/shop/stages/prod|approve here>",
		"approved in prod by ann (leads)", ":white_check_mark: shop 2.0.0 is live in prod",
	}
	if !slices.Equal(sorted(replies), sorted(want)) {
		t.Errorf("replies:\n%s\nwant:\n%s", strings.Join(replies, "\n"), strings.Join(want, "\n"))
	}
	// Each stage's replies in order: prod's three (dev's one is alone). Stages are told
	// independently, so prod's first may come before dev's last.
	for _, stage := range [][]string{want[:1], want[1:]} {
		last := -1
		for _, w := range stage {
			i := slices.Index(replies, w)
			if i < last {
				t.Errorf("%q came before an earlier step of its stage: %v", w, replies)
			}
			last = i
		}
	}
	rel := &ferryv1.Release{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "shop-2-0-0"}, rel))
	if rel.Annotations[ferryv1.AnnotationSlackThread+"slack"] != root.ts {
		t.Errorf("the thread kept on the release: %v", rel.Annotations)
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
