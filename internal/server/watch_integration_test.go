//go:build integration

package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/api"
	"ferry.dev/ferry/internal/server"
)

// TestWatchStreamsPromotionChanges: a watcher of team sees a Promotion's status change,
// written to the API server, as a promotion event and its application's new board row
// within 2 s; a token without rights in the namespace cannot watch it.
func TestWatchStreamsPromotionChanges(t *testing.T) {
	env, c, cs := startHistory(t, "team", "other")
	ctx := context.Background()
	token := serviceAccountToken(t, cs, "team", "reader", true)
	stranger := serviceAccountToken(t, cs, "other", "stranger", true)
	srv := httptest.NewServer(startServer(t, &server.Server{Client: c, Local: env.Config}).Handler())
	t.Cleanup(srv.Close) // after the streams' cleanups: Close waits for them to end

	status, body := get(t, srv.URL+"/api/v1/namespaces/team/watch", stranger)
	wantError(t, "a stranger", status, body, http.StatusForbidden, "may not list applications")

	events := watchEvents(t, srv.URL+"/api/v1/namespaces/team/watch", token)
	p := &ferryv1.Promotion{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "shop-a-prod"}, p))
	p.Status.Phase = ferryv1.PromotionRunning
	now := metav1.Now()
	p.Status.Checkpoints = append(p.Status.Checkpoints, ferryv1.Checkpoint{Name: ferryv1.StepPreDeploy, Phase: ferryv1.CheckpointRunning, StartedAt: &now})
	written := time.Now()
	must(t, c.Status().Update(ctx, p))

	var change api.PromotionChange
	var row api.ApplicationSummary
	for change.ResourceVersion != p.ResourceVersion || row.Name == "" {
		select {
		case ev := <-events:
			switch ev.name {
			case "promotion":
				must(t, json.Unmarshal([]byte(ev.data), &change))
			case "application":
				must(t, json.Unmarshal([]byte(ev.data), &row))
			}
		case <-time.After(2*time.Second - time.Since(written)):
			t.Fatalf("within 2 s: promotion %+v, row %+v", change, row)
		}
	}
	if change.Name != "shop-a-prod" || change.Application != "shop" || change.Stage != "prod" || change.Phase != ferryv1.PromotionRunning ||
		change.Step != ferryv1.StepPreDeploy {
		t.Errorf("promotion event: %+v", change)
	}
	if prod := row.Stages[1]; prod.Phase != ferryv1.PromotionRunning || prod.Step != ferryv1.StepPreDeploy || prod.StepsDone != 2 {
		t.Errorf("board row: %+v", row.Stages)
	}
	t.Logf("the change reached the watcher %s after it was written", time.Since(written).Round(time.Millisecond))
}

type sse struct{ name, data string }

// watchEvents opens a watch stream and delivers its events until the test ends.
func watchEvents(t *testing.T, url, token string) <-chan sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("watch: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sse, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			case line == "" && ev.name != "":
				out <- ev
				ev = sse{}
			}
		}
	}()
	return out
}
