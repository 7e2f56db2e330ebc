//go:build integration

package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/server"
	"ferry.dev/ferry/internal/testenv"
)

// The board of a large team: a thousand applications of three stages, fetched whole
// boardFetches times (both pages of the default size each time).
const (
	boardApps    = 1000
	boardFetches = 50
	boardWorkers = 32
)

const boardAppFile = `build: {buildType: go, artifact: app}
deploy:
  namespace: apps
  stages:
    - {name: dev, target: [{cluster_id: [local]}]}
    - {name: stage, target: [{cluster_id: [local]}]}
    - {name: prod, target: [{cluster_id: [local]}]}
`

// BenchmarkBoard creates 1,000 applications of three stages, each with a Release and a
// Promotion per stage (dev verified, stage deploying, prod waiting for approval), in a
// real API server; starts ferry server's API on it; and prints the board's response
// time over 50 fetches of both pages, as the dashboard makes them (with a
// ServiceAccount's token, each page's reads reviewed; gzipped as a browser asks, and
// not), the JSON's size and the bytes sent, and the heap the server's cache holds. Only figures: nothing is asserted of them.
//
//	go test -tags integration -run '^$' -bench Board -benchtime 1x ./internal/server/
func BenchmarkBoard(b *testing.B) {
	env := testenv.StartEnv(b, "../../config/crd")
	rc := rest.CopyConfig(env.Config)
	rc.QPS, rc.Burst = 2000, 4000 // writing the objects, not the benchmark
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		b.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	token := boardToken(b, cs)
	start := time.Now()
	writeBoard(b, c)
	b.Logf("wrote %d applications, %d releases and %d promotions in %s", boardApps, boardApps, 3*boardApps, time.Since(start).Round(time.Millisecond))

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start = time.Now()
	srv := httptest.NewServer(startServer(b, &server.Server{Client: c, Local: env.Config}).Handler())
	defer srv.Close()
	synced := time.Since(start)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)

	for b.Loop() {
		// As a browser fetches it (gzip) and as a script might (identity).
		for _, enc := range []string{"gzip", "identity"} {
			var times []time.Duration
			var size, wire int
			for range boardFetches {
				t0 := time.Now()
				size, wire = fetchBoard(b, srv.URL, token, enc)
				times = append(times, time.Since(t0))
			}
			slices.Sort(times)
			median, p99 := times[len(times)/2], times[(len(times)*99+99)/100-1]
			fmt.Printf("board of %d applications x 3 stages, %d fetches of both pages, %s: median %s, p99 %s; JSON %d bytes (%.0f KiB), %.0f KiB sent\n",
				boardApps, boardFetches, enc, median.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), size, float64(size)/1024, float64(wire)/1024)
			b.ReportMetric(float64(median.Microseconds())/1000, "ms-median-"+enc+"/board")
			b.ReportMetric(float64(p99.Microseconds())/1000, "ms-p99-"+enc+"/board")
			b.ReportMetric(float64(wire), "bytes-sent-"+enc+"/board")
		}
		fmt.Printf("cache synced in %s, heap +%.1f MiB\n", synced.Round(time.Millisecond), (float64(after.HeapAlloc)-float64(before.HeapAlloc))/(1<<20))
	}
}

// fetchBoard reads every page of the board in the given encoding and returns the bytes
// of JSON and the bytes sent; it fails unless all the applications came, in at most two
// pages.
func fetchBoard(b *testing.B, url, token, encoding string) (int, int) {
	size, wire, pages, apps := 0, 0, 0, 0
	for cont := ""; pages == 0 || cont != ""; pages++ {
		req, _ := http.NewRequest(http.MethodGet, url+"/api/v1/namespaces/team/applications?continue="+cont, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept-Encoding", encoding) // set, so the transport leaves the body as sent
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		sent, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("board: %d %v %.200s", resp.StatusCode, err, sent)
		}
		body := sent
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(sent))
			if err != nil {
				b.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				b.Fatal(err)
			}
		}
		size, wire = size+len(body), wire+len(sent)
		apps += strings.Count(string(body), `"namespace":"team"`)
		cont = continueOf(string(body))
	}
	if apps != boardApps || pages > 2 {
		b.Fatalf("%d applications in %d pages", apps, pages)
	}
	return size, wire
}

// continueOf is the page's continue value (a JSON string of base64url characters).
func continueOf(body string) string {
	_, after, ok := strings.Cut(body, `"continue":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, `"`)
	return v
}

// writeBoard writes the applications in team as the controller would leave them, many
// at a time.
func writeBoard(b *testing.B, c client.Client) {
	var wg sync.WaitGroup
	errs := make(chan error, boardApps)
	next := make(chan int)
	for range boardWorkers {
		wg.Go(func() {
			for i := range next {
				if err := writeBoardApp(c, fmt.Sprintf("app-%04d", i)); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range boardApps {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// writeBoardApp writes one application, its Release and its three Promotions.
func writeBoardApp(c client.Client, name string) error {
	ctx := context.Background()
	rel := name + "-1-2-0"
	app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team"},
		Spec: ferryv1.ApplicationSpec{AppFile: boardAppFile, Stages: []ferryv1.StageSpec{
			{Name: "dev", Clusters: []string{"local"}}, {Name: "stage", Clusters: []string{"local"}},
			{Name: "prod", Clusters: []string{"local"}, ApproverGroups: []string{"sre"}}}}}
	if err := c.Create(ctx, app); err != nil {
		return err
	}
	labels := map[string]string{ferryv1.LabelApplication: name}
	r := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: rel, Namespace: "team", Labels: labels},
		Spec: ferryv1.ReleaseSpec{Application: name, Version: "1.2.0", Flow: "release", AppFile: boardAppFile,
			Git:    &ferryv1.GitInfo{Commit: strings.Repeat("c0ffee", 6) + "abcd"},
			Images: []ferryv1.ReleaseImage{{Name: "app", Repository: "registry.test/" + name, Digest: "sha256:" + strings.Repeat("ab", 32)}}}}
	if err := c.Create(ctx, r); err != nil {
		return err
	}
	now := time.Now()
	at := func(m int) *metav1.Time { return ptr.To(metav1.NewTime(now.Add(time.Duration(m) * time.Minute))) }
	done := func(step string, m int) ferryv1.Checkpoint {
		return ferryv1.Checkpoint{Name: step, Phase: ferryv1.CheckpointSucceeded, StartedAt: at(m), FinishedAt: at(m + 1), Message: step + " passed"}
	}
	for _, p := range []struct {
		stage string
		phase ferryv1.PromotionPhase
		cps   []ferryv1.Checkpoint
	}{
		{"dev", ferryv1.PromotionSucceeded, []ferryv1.Checkpoint{done("freeze", -60), done("upstream", -59), done("approval", -58),
			done("preDeploy", -57), done("deploy", -56), done("postDeploy", -50), done("tests", -49), done("done", -48)}},
		{"stage", ferryv1.PromotionRunning, []ferryv1.Checkpoint{done("freeze", -20), done("upstream", -19), done("approval", -18),
			done("preDeploy", -17), {Name: "deploy", Phase: ferryv1.CheckpointRunning, StartedAt: at(-16)}}},
		{"prod", ferryv1.PromotionWaitingApproval, []ferryv1.Checkpoint{done("freeze", -5), done("upstream", -4),
			{Name: "approval", Phase: ferryv1.CheckpointRunning, StartedAt: at(-3), Message: "waiting for 1 of [sre] to approve"}}},
	} {
		prom := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: rel + "-" + p.stage, Namespace: "team",
			Labels:      map[string]string{ferryv1.LabelApplication: name, ferryv1.LabelStage: p.stage, ferryv1.LabelRelease: rel},
			Annotations: map[string]string{ferryv1.AnnotationVersion: "1.2.0"}},
			Spec: ferryv1.PromotionSpec{Application: name, Release: rel, Stage: p.stage}}
		if err := c.Create(ctx, prom); err != nil {
			return err
		}
		prom.Status = ferryv1.PromotionStatus{Phase: p.phase, Checkpoints: p.cps, Message: "at " + p.cps[len(p.cps)-1].Name}
		if err := c.Status().Update(ctx, prom); err != nil {
			return err
		}
	}
	app.Status.Stages = []ferryv1.StageStatus{
		{Name: "dev", CurrentRelease: rel, CurrentVersion: "1.2.0", LastVerifiedRelease: rel},
		{Name: "stage", CurrentRelease: name + "-1-1-0", CurrentVersion: "1.1.0", LastVerifiedRelease: name + "-1-1-0", ActivePromotion: rel + "-stage"},
		{Name: "prod", CurrentRelease: name + "-1-1-0", CurrentVersion: "1.1.0", LastVerifiedRelease: name + "-1-1-0", ActivePromotion: rel + "-prod"},
	}
	app.Status.Conditions = []metav1.Condition{{Type: ferryv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Delivering",
		Message: "delivering 1.2.0", LastTransitionTime: metav1.NewTime(now)}}
	return c.Status().Update(ctx, app)
}

// boardToken is the token of a ServiceAccount that may read Ferry's objects in team.
func boardToken(b *testing.B, cs kubernetes.Interface) string {
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	return serviceAccountToken(b, cs, "team", "board", true)
}
