package webhookhook

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Credentials the hook is configured with; no message may show them.
const (
	querySecret  = "q-token-0123456789"
	headerSecret = "h-token-9876543210"
)

var hookHeaders = map[string]string{"Authorization": "Bearer " + headerSecret}

// serve starts a receiver on loopback and returns the hook URL, token in the query.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/hook?token=" + querySecret
}

func assertNoSecrets(t *testing.T, msg string) {
	t.Helper()
	for _, s := range []string{querySecret, headerSecret, "token="} {
		if strings.Contains(msg, s) {
			t.Errorf("message %q shows %q", msg, s)
		}
	}
}

func TestCallOutcomeFollowsTheStatus(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   Outcome
		msgHas []string
	}{
		{"200 passes with the answer", 200, "smoke tests green\n", Passed, []string{"smoke tests green"}},
		{"204 passes", 204, "", Passed, nil},
		{"202 is pending", 202, `{"ticket":"CHG-42"}`, Pending, []string{"CHG-42"}},
		{"400 fails", 400, "stage is required", Failed, []string{"/hook answered 400 Bad Request: stage is required"}},
		{"403 fails", 403, "forbidden", Failed, []string{"/hook answered 403 Forbidden: forbidden"}},
		{"403 echoing the credentials fails without them", 403,
			"token " + querySecret + " and Bearer " + headerSecret + " are not valid", Failed, []string{"[redacted]"}},
		{"404 fails", 404, "", Failed, []string{"/hook answered 404 Not Found"}},
		{"408 retries", 408, "", Retry, []string{"408 Request Timeout"}},
		{"429 retries", 429, "slow down", Retry, []string{"429 Too Many Requests: slow down"}},
		{"500 retries", 500, "boom", Retry, []string{"500 Internal Server Error: boom"}},
		{"503 retries", 503, "", Retry, []string{"503 Service Unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			c := &Caller{Secret: []byte("s")}
			got := c.Call(context.Background(), url, hookHeaders, Payload{Hook: "smoke"})
			if got.Outcome != tt.want || got.Status != tt.status {
				t.Errorf("got %s %d (%q), want %s %d", got.Outcome, got.Status, got.Message, tt.want, tt.status)
			}
			for _, s := range tt.msgHas {
				if !strings.Contains(got.Message, s) {
					t.Errorf("message %q does not say %q", got.Message, s)
				}
			}
			if tt.body == "" && tt.want == Passed && got.Message != "" {
				t.Errorf("message %q for an empty answer", got.Message)
			}
			assertNoSecrets(t, got.Message)
		})
	}
}

func TestCallRetriesWhenNothingListens(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?token=" + querySecret
	srv.Close()
	got := (&Caller{}).Call(context.Background(), url, hookHeaders, Payload{})
	if got.Outcome != Retry || got.Status != 0 || !strings.Contains(got.Message, "connection refused") {
		t.Errorf("got %+v, want Retry naming the refused connection", got)
	}
	if !strings.Contains(got.Message, srv.URL+"/hook") {
		t.Errorf("message %q does not name the hook's address", got.Message)
	}
	assertNoSecrets(t, got.Message)
}

func TestCallRetriesAfterItsTimeout(t *testing.T) {
	release := make(chan struct{})
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	c := &Caller{Timeout: 200 * time.Millisecond}
	got := c.Call(context.Background(), url, hookHeaders, Payload{})
	if got.Outcome != Retry || !strings.Contains(got.Message, "no answer from") || !strings.Contains(got.Message, "within 200ms") {
		t.Errorf("got %+v, want Retry saying it timed out after 200ms", got)
	}
	assertNoSecrets(t, got.Message)
}

func TestCallRetriesWhenAbandoned(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := (&Caller{}).Call(ctx, url, hookHeaders, Payload{})
	if got.Outcome != Retry || !strings.Contains(got.Message, "abandoned") {
		t.Errorf("got %+v, want Retry saying the call was abandoned", got)
	}
}

// countingTransport counts the response bytes the caller reads off the wire.
type countingTransport struct{ read atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, &c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func TestCallReadsABoundedAnswer(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for range 512 { // 16 MiB, unless the caller hangs up first
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	tr := &countingTransport{}
	c := &Caller{Client: &http.Client{Transport: tr}, Timeout: 5 * time.Second}
	got := c.Call(context.Background(), url, nil, Payload{})
	if got.Outcome != Passed {
		t.Fatalf("got %s %q, want Passed", got.Outcome, got.Message)
	}
	if n := tr.read.Load(); n > 64<<10 {
		t.Errorf("read %d bytes of the answer, want at most 64 KiB", n)
	}
	if want := strings.Repeat("x", 1<<10) + "…"; got.Message != want {
		t.Errorf("message is %d bytes, want the first 1 KiB marked as cut", len(got.Message))
	}
}

func TestCallDoesNotFollowRedirects(t *testing.T) {
	var hits atomic.Int32
	elsewhere := serve(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere, http.StatusTemporaryRedirect)
	})
	got := (&Caller{}).Call(context.Background(), url, hookHeaders, Payload{})
	if got.Outcome != Failed || got.Status != http.StatusTemporaryRedirect {
		t.Errorf("got %+v, want Failed with 307", got)
	}
	if hits.Load() != 0 {
		t.Error("the redirect was followed: the body and token went elsewhere")
	}
	assertNoSecrets(t, got.Message)
}

func TestCallRefusesABadURL(t *testing.T) {
	for _, u := range []string{
		"ftp://hooks.example.com/x?token=" + querySecret,
		"hooks.example.com/x?token=" + querySecret,
		"http://%zz/x?token=" + querySecret,
		"",
	} {
		got := (&Caller{}).Call(context.Background(), u, nil, Payload{})
		if got.Outcome != Failed || !strings.Contains(got.Message, "not an absolute http or https URL") {
			t.Errorf("Call(%q) = %+v, want Failed naming the bad URL", u, got)
		}
		assertNoSecrets(t, got.Message)
	}
}

// received is what a receiver saw of one call.
type received struct {
	body   string
	header http.Header
}

// TestReceiverVerifiesTheCall plays the outside system: it checks the signature over the
// exact bytes it received before reading them, and refuses a call it cannot verify.
func TestReceiverVerifiesTheCall(t *testing.T) {
	receiverSecret := []byte("shared-hook-secret")
	tests := []struct {
		name         string
		callerSecret []byte
		want         Outcome
		msgHas       string
	}{
		{"same secret passes", receiverSecret, Passed, "verified"},
		{"wrong secret is refused", []byte("guessed"), Failed, "does not match the body"},
		{"no secret is refused", nil, Failed, "missing X-Ferry-Signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []received
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if err := Verify(receiverSecret, body, r.Header.Get(SignatureHeader)); err != nil {
					http.Error(w, err.Error(), http.StatusUnauthorized)
					return
				}
				got = append(got, received{string(body), r.Header.Clone()})
				_, _ = io.WriteString(w, "verified")
			})
			c := &Caller{Secret: tt.callerSecret}
			res := c.Call(context.Background(), url, hookHeaders, Payload{Hook: "smoke"})
			if res.Outcome != tt.want || !strings.Contains(res.Message, tt.msgHas) {
				t.Errorf("got %s %q, want %s saying %q", res.Outcome, res.Message, tt.want, tt.msgHas)
			}
			if tt.want == Passed && len(got) != 1 {
				t.Errorf("receiver accepted %d calls, want 1", len(got))
			}
		})
	}
}

func TestCallSendsThePayloadAndHeaders(t *testing.T) {
	secret := []byte("shared-hook-secret")
	var got []received
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, received{string(body), r.Header.Clone()})
	})
	p := Payload{
		Type: "something else", Hook: "smoke", Phase: "postDeploy", Application: "hello", Stage: "prod",
		Version: "1.2.0", Release: "hello-1-2-0", Promotion: "hello-prod-1-2-0", Namespace: "team-a",
		Images:  Images{App: "127.0.0.1:5000/hello:1.2.0", Tests: "127.0.0.1:5000/hello-tests:1.2.0"},
		Git:     Git{Commit: "0123abcd", Branch: "main", RepoURL: "https://git.example.com/team/hello"},
		Attempt: 1,
		SentAt:  time.Date(2026, 3, 1, 13, 0, 0, 123456789, time.FixedZone("CET", 3600)),
	}
	headers := map[string]string{"X-Team": "payments", "Content-Type": "text/plain", "X-Ferry-Delivery": "forged"}
	c := &Caller{Secret: secret}
	for attempt := 1; attempt <= 2; attempt++ {
		p.Attempt = attempt
		if res := c.Call(context.Background(), url, headers, p); res.Outcome != Passed {
			t.Fatalf("attempt %d: %+v", attempt, res)
		}
	}
	want := fmt.Sprintf(`{"type":"ferry.hook","hook":"smoke","phase":"postDeploy","application":"hello",`+
		`"stage":"prod","version":"1.2.0","release":"hello-1-2-0","promotion":"hello-prod-1-2-0","namespace":"team-a",`+
		`"images":{"app":"127.0.0.1:5000/hello:1.2.0","tests":"127.0.0.1:5000/hello-tests:1.2.0"},`+
		`"git":{"commit":"0123abcd","branch":"main","repoURL":"https://git.example.com/team/hello"},`+
		`"attempt":%d,"sentAt":"2026-03-01T12:00:00Z"}`, 1)
	if got[0].body != want {
		t.Errorf("body\n%s\nwant\n%s", got[0].body, want)
	}
	first, second := got[0].header, got[1].header
	for k, v := range map[string]string{
		"Content-Type":  "application/json",
		"X-Team":        "payments",
		"Authorization": "",
		DeliveryHeader:  p.DeliveryID(),
		SignatureHeader: Sign(secret, []byte(got[0].body)),
	} {
		if first.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, first.Get(k), v)
		}
	}
	if second.Get(DeliveryHeader) != first.Get(DeliveryHeader) {
		t.Error("the retry has another delivery id")
	}
	if !strings.Contains(got[1].body, `"attempt":2`) {
		t.Errorf("second body %s does not count attempt 2", got[1].body)
	}
}
