package approve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/api"
	"ferry.dev/ferry/internal/kubeclient"
)

// remoteTimeout bounds a decision sent to ferry server.
const remoteTimeout = 30 * time.Second

// runRemote sends the decision to ferry server's API, which makes it as the token's
// user: the same checks as a decision made here, for people who reach the server but
// not the Kubernetes API.
func (o *options) runRemote(ctx context.Context) error {
	token, err := o.token()
	if err != nil {
		return err
	}
	if o.req.Namespace == "" {
		if _, o.req.Namespace, err = kubeclient.Config(o.kubeconfig, ""); err != nil {
			return fmt.Errorf("the namespace (--namespace, or the kubeconfig's): %w", err)
		}
	}
	d, err := postDecision(ctx, o.server, token, o.req.Namespace, o.req.Application, o.req.Stage, o.req.Decision,
		api.DecisionRequest{Reason: o.req.Reason, Group: o.req.Group})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.s.Out, "%s: %s as %s on %s\n", d.User, d.Decision, d.Group, d.Promotion)
	return err
}

// token is --token-file's, else the kubeconfig's bearer token.
func (o *options) token() (string, error) {
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("--token-file: %s is empty", o.tokenFile)
	}
	rc, _, err := kubeclient.Config(o.kubeconfig, "")
	if err == nil && rc.BearerToken != "" {
		return rc.BearerToken, nil
	}
	if err == nil && rc.BearerTokenFile != "" {
		b, err := os.ReadFile(rc.BearerTokenFile)
		if err == nil && strings.TrimSpace(string(b)) != "" {
			return strings.TrimSpace(string(b)), nil
		}
	}
	return "", errors.New("--token-file is required with --server: the kubeconfig has no bearer token")
}

// postDecision is POST /api/v1/namespaces/NS/applications/APP/stages/STAGE/approve
// (or reject); any answer but 200 is an error with the server's message.
func postDecision(ctx context.Context, server, token, ns, app, stage string, d ferryv1.Decision, body api.DecisionRequest) (*api.Decision, error) {
	verb := "approve"
	if d == ferryv1.DecisionReject {
		verb = "reject"
	}
	u := strings.TrimRight(server, "/") + api.Prefix + "namespaces/" + url.PathEscape(ns) + "/applications/" + url.PathEscape(app) +
		"/stages/" + url.PathEscape(stage) + "/" + verb
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, remoteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sending the decision to %s: %w", server, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading %s's answer: %w", server, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(out, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(out))
		}
		return nil, fmt.Errorf("the server refused the decision (%s): %s", resp.Status, e.Error)
	}
	var rec api.Decision
	if err := json.Unmarshal(out, &rec); err != nil {
		return nil, fmt.Errorf("%s's answer: %w", server, err)
	}
	return &rec, nil
}
