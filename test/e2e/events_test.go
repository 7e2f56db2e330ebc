//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/test/e2e/e2ekit"
)

// eventReceiver is a CloudEvents sink on loopback: it keeps each event's type and
// sequence by the Promotion it came from.
type eventReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	// bySource holds, per Promotion (the event source), the events in arrival order.
	bySource map[string][]gotEvent
}

type gotEvent struct {
	seq int
	typ string
}

func newEventReceiver() *eventReceiver {
	rv := &eventReceiver{bySource: map[string][]gotEvent{}}
	rv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		seq, _ := strconv.Atoi(r.Header.Get("Ce-Sequence"))
		rv.mu.Lock()
		src := r.Header.Get("Ce-Source")
		if evs := rv.bySource[src]; len(evs) == 0 || evs[len(evs)-1].seq < seq { // a repeat is acknowledged, not kept
			rv.bySource[src] = append(evs, gotEvent{seq, r.Header.Get("Ce-Type")})
		}
		rv.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	return rv
}

// types are the event types of one Promotion in arrival order; gaps in the sequence
// fail the test.
func (rv *eventReceiver) types(t *testing.T, ns, promotion string) []string {
	t.Helper()
	rv.mu.Lock()
	defer rv.mu.Unlock()
	var out []string
	for i, e := range rv.bySource["ferry.dev/"+ns+"/promotions/"+promotion] {
		if e.seq != i+1 {
			t.Errorf("%s: event %d has sequence %d", promotion, i+1, e.seq)
		}
		out = append(out, e.typ)
	}
	return out
}

// checkEvents: each Promotion of the delivery told its story in order, start to end,
// the first stage's from the Release's creation.
func (e *clusterEnv) checkEvents(t *testing.T, rv *eventReceiver, v1, v2 string) {
	t.Helper()
	for _, c := range []struct {
		promotion string
		want      []string // in this order, among the others
	}{
		{v1 + "-dev", []string{"dev.ferry.release.created", "dev.ferry.promotion.started", "dev.ferry.deployment.started", "dev.ferry.deployment.finished", "dev.ferry.hook.finished", "dev.ferry.promotion.finished"}},
		{v1 + "-stage", []string{"dev.ferry.promotion.started", "dev.ferry.approval.requested", "dev.ferry.approval.granted", "dev.ferry.deployment.finished", "dev.ferry.promotion.finished"}},
		{v1 + "-prod", []string{"dev.ferry.promotion.started", "dev.ferry.approval.requested", "dev.ferry.approval.granted", "dev.ferry.deployment.finished", "dev.ferry.promotion.finished"}},
		{v2 + "-dev", []string{"dev.ferry.release.created", "dev.ferry.promotion.started", "dev.ferry.deployment.finished", "dev.ferry.hook.started", "dev.ferry.step.failed",
			"dev.ferry.rollback.started", "dev.ferry.rollback.deployment.finished", "dev.ferry.rollback.finished", "dev.ferry.promotion.finished"}},
	} {
		e2ekit.Eventually(t, 30*time.Second, "the events of "+c.promotion+" up to its end", func() error {
			if got := rv.types(t, engineNS, c.promotion); len(got) == 0 || got[len(got)-1] != "dev.ferry.promotion.finished" {
				return fmt.Errorf("events so far: %v", got)
			}
			return nil
		})
		got := rv.types(t, engineNS, c.promotion)
		at := 0
		for _, w := range c.want {
			i := slices.Index(got[at:], w)
			if i < 0 {
				t.Errorf("%s: no %s after event %d in %v", c.promotion, w, at, got)
				break
			}
			at += i + 1
		}
		// The first stage's events begin with the Release's creation.
		if first := c.want[0]; len(got) == 0 || got[0] != first {
			t.Errorf("%s: events %v, want them to begin with %s", c.promotion, got, first)
		}
		t.Logf("%s: %d events: %s", c.promotion, len(got), strings.Join(got, " "))
	}
}

// checkChangeRecords: prod's record of 3.0.0 names both approvers and closed Succeeded;
// dev's record of 3.1.0 closed SucceededWithIssues, the stage rolled back.
func (e *clusterEnv) checkChangeRecords(t *testing.T, c client.Client, v1, v2 string) {
	t.Helper()
	ctx := context.Background()
	prod, dev := &ferryv1.ChangeRecord{}, &ferryv1.ChangeRecord{}
	e2ekit.Eventually(t, 30*time.Second, "the change records closed", func() error {
		for _, r := range []struct {
			name string
			rec  *ferryv1.ChangeRecord
		}{{v1 + "-prod", prod}, {v2 + "-dev", dev}} {
			if err := c.Get(ctx, client.ObjectKey{Namespace: engineNS, Name: r.name}, r.rec); err != nil {
				return err
			}
			if r.rec.Status.ClosedAt == nil {
				return fmt.Errorf("%s is %s", r.name, r.rec.Status.Result)
			}
		}
		return nil
	})
	if prod.Status.Result != ferryv1.ChangeSucceeded || prod.Spec.Version != "3.0.0" || len(prod.Spec.Approvers) != 2 {
		t.Errorf("prod's change record: %+v %+v", prod.Spec, prod.Status)
	}
	if dev.Status.Result != ferryv1.ChangeSucceededWithIssues || !strings.Contains(dev.Status.Message, "rolled back to 3.0.0") {
		t.Errorf("dev's change record of 3.1.0: %+v", dev.Status)
	}
	list := &ferryv1.ChangeRecordList{}
	must(t, c.List(ctx, list, client.InNamespace(engineNS)))
	for _, r := range list.Items {
		t.Logf("change record %s: %s %s, opened %s, closed %s", r.Name, r.Spec.Version, r.Status.Result,
			r.Spec.OpenedAt.Format(metav1.RFC3339Micro), r.Status.ClosedAt)
	}
}

// smtpServer is the SMTP server on loopback the mails are read from.
type smtpServer struct {
	addr, dir string
}

func startSMTP(t *testing.T) *smtpServer {
	s := e2ekit.StartSMTP(t)
	return &smtpServer{addr: s.Addr, dir: s.Dir}
}

// subjects are the subjects of the mails received so far, and their count.
func (s *smtpServer) subjects(t *testing.T) (map[string]int, int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.dir, "new", "*"))
	got := map[string]int{}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		must(t, err)
		m, err := mail.ReadMessage(strings.NewReader(string(b)))
		must(t, err)
		// A Promotion to the unknown stage qa may get in before the admission webhook
		// is installed (refused() tries until the webhook answers); it fails at once,
		// and its mail says so. It is not part of the delivery.
		if subject := m.Header.Get("Subject"); subject != "[ferry] hello hello-9-9-9 in qa: failed" {
			got[subject]++
			n++
		}
	}
	return got, n
}

// checkMail: the people were told of each stage's end, each approval needed and the
// rollback, once each.
func (e *clusterEnv) checkMail(t *testing.T, s *smtpServer) {
	t.Helper()
	want := []string{"[ferry] hello 3.0.0 in dev: done", "[ferry] hello 3.0.0 in stage: approval needed", "[ferry] hello 3.0.0 in stage: done",
		"[ferry] hello 3.0.0 in prod: approval needed", "[ferry] hello 3.0.0 in prod: done", "[ferry] hello 3.1.0 in dev: rolled back"}
	e2ekit.Eventually(t, 30*time.Second, "the mails", func() error {
		got, n := s.subjects(t)
		for _, w := range want {
			if got[w] != 1 {
				return fmt.Errorf("%q received %d times; all: %v (%d mails)", w, got[w], got, n)
			}
		}
		if n != len(want) {
			return fmt.Errorf("%d mails, want %d: %v", n, len(want), got)
		}
		return nil
	})
}
