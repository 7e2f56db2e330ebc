package webhookhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultTimeout bounds an attempt when Caller.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Outcome is what one call means for the hook.
type Outcome string

// The outcomes of a call.
const (
	// Passed: the receiver answered 2xx (other than 202); the hook is done.
	Passed Outcome = "Passed"
	// Failed: the receiver refused (a 4xx other than 408 and 429), or the hook cannot
	// be called as written; calling again would give the same answer.
	Failed Outcome = "Failed"
	// Pending: the receiver accepted the call (202) and will answer later through the
	// Promotion's hooks.ferry.dev/<hook> annotation.
	Pending Outcome = "Pending"
	// Retry: no answer yet (408, 429, 5xx, a network error or a timeout); call again
	// after Backoff.
	Retry Outcome = "Retry"
)

// Result is the outcome of one call, with the HTTP status (0 when there was no
// response) and a message for the Promotion's status. The message never holds the
// URL's query string or a header's value.
type Result struct {
	Outcome Outcome
	Status  int
	Message string
}

// Caller makes hook calls.
type Caller struct {
	// Client sends the request; nil means a client that does not follow redirects.
	Client *http.Client
	// Secret signs every body; when empty no signature header is sent.
	Secret []byte
	// Timeout bounds one attempt, response body included; zero means DefaultTimeout.
	Timeout time.Duration
}

// Call POSTs p to rawURL once, with headers (the hook's own, such as a token) and the
// signature and delivery headers, and says what the answer means. It fills in p.Type
// and, when zero, p.SentAt.
func (c *Caller) Call(ctx context.Context, rawURL string, headers map[string]string, p Payload) Result {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The parse error quotes the URL, which may hold a token: say only what is wrong.
		return Result{Outcome: Failed, Message: "the webhook URL is not an absolute http or https URL"}
	}
	target := describe(u)
	secrets := secretsOf(u, headers)
	req, cancel, err := c.request(ctx, rawURL, headers, p)
	if err != nil {
		return Result{Outcome: Failed, Message: redact(fmt.Sprintf("preparing the call to %s: %v", target, err), secrets)}
	}
	defer cancel()
	resp, err := c.client().Do(req)
	if err != nil {
		return Result{Outcome: Retry, Message: redact(c.transportReason(ctx, target, err), secrets)}
	}
	defer resp.Body.Close()
	// The status is the answer; the body only explains it, so a failed read keeps what
	// arrived. The limit keeps a huge or endless answer from filling memory.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	r := classify(resp.StatusCode, target, excerpt(body, maxMessage))
	r.Message = redact(r.Message, secrets)
	return r
}

// Limits on what is read of an answer and kept of it.
const (
	maxBody    = 64 << 10
	maxMessage = 1 << 10
)

// request builds the signed request under a context bounded by the attempt's timeout.
func (c *Caller) request(ctx context.Context, rawURL string, headers map[string]string, p Payload) (*http.Request, context.CancelFunc, error) {
	p.Type = PayloadType
	if p.SentAt.IsZero() {
		p.SentAt = time.Now()
	}
	p.SentAt = p.SentAt.UTC().Truncate(time.Second)
	body, err := json.Marshal(p)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the payload: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, nil, errors.New("building the request failed")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	// Set after the hook's own headers so that these cannot be overridden by them.
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(DeliveryHeader, p.DeliveryID())
	if len(c.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(c.Secret, body))
	}
	return req, cancel, nil
}

// classify turns an answer's status into an outcome; msg is the start of its body.
func classify(status int, target, msg string) Result {
	r := Result{Status: status, Message: msg}
	switch {
	case status == http.StatusAccepted:
		r.Outcome = Pending
	case status >= 200 && status < 300:
		r.Outcome = Passed
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		r.Outcome = Retry
		r.Message = answered(target, status, msg)
	default:
		// Other 4xx, and a 3xx the client did not follow: the same call would be
		// refused again.
		r.Outcome = Failed
		r.Message = answered(target, status, msg)
	}
	return r
}

func answered(target string, status int, msg string) string {
	s := fmt.Sprintf("%s answered %d %s", target, status, http.StatusText(status))
	if msg != "" {
		s += ": " + msg
	}
	return s
}

// transportReason says why no answer came. It takes the error from inside *url.Error,
// whose own message quotes the whole URL, query string included.
func (c *Caller) transportReason(parent context.Context, target string, err error) string {
	if parent.Err() != nil {
		return fmt.Sprintf("call to %s abandoned: %v", target, parent.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("no answer from %s within %s", target, c.timeout())
		}
		err = ue.Err
	}
	return fmt.Sprintf("calling %s: %v", target, err)
}

func (c *Caller) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return noRedirects
}

// noRedirects answers a redirect with the 3xx itself, which fails the hook: following
// it would send the body and the hook's headers, tokens included, to wherever the
// Location points.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (c *Caller) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}
