// Package server implements `ferry server`: the web dashboard at /, the REST API under
// /api/v1/ and the HTTP endpoints that receive the container registry's and the git
// hosts' webhooks (internal/server).
package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/api"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/gitwebhook"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/server"
)

type options struct {
	s             iostreams.Streams
	kubeconfig    string
	listen        string
	gitSecretFile string
	registryToken string
	mainBranches  []string
	buildRegistry string
	proxy         api.ProxyAuth
	proxySecret   string
}

// NewCommand returns the server verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the web dashboard (/), the REST API (/api/v1/) and receive the registry's and the git hosts' webhooks (POST /hooks/registry, /hooks/github, /hooks/gitlab)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: in-cluster, $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.listen, "listen", ":8090", "address to serve on")
	f.StringVar(&o.gitSecretFile, "git-secret-file", "", "file holding the shared secret of the GitHub and GitLab webhooks (without it they are refused)")
	f.StringVar(&o.registryToken, "registry-token-file", "", "file holding the bearer token the registry's notifications carry (default: none asked)")
	f.StringVar(&o.buildRegistry, "build-registry", "", "registry the images of Releases made from commits are pushed to (without it a commit is only noted on its Application)")
	f.StringSliceVar(&o.mainBranches, "main-branch", nil, "branches whose pushes are releases (default: main, master and the repository's default)")
	f.StringVar(&o.proxy.UserHeader, "auth-proxy-user-header", "", "header in which an authenticating proxy names the API's user (X-Forwarded-User); believed only with the proxy's secret")
	f.StringVar(&o.proxy.GroupsHeader, "auth-proxy-groups-header", "", "header in which the authenticating proxy lists the user's groups, comma-separated (X-Forwarded-Groups)")
	f.StringVar(&o.proxySecret, "auth-proxy-secret-file", "", "file holding the secret the authenticating proxy sends in "+api.ProxySecretHeader+" (required with --auth-proxy-user-header)")
	return cmd
}

func (o *options) run(ctx context.Context) error {
	srv, err := o.server()
	if err != nil {
		return err
	}
	// The API reads from an informer cache; its watch streams end with ctx, so that the
	// shutdown below does not wait on them.
	if err := srv.Start(ctx); err != nil {
		return err
	}
	hs := &http.Server{Addr: o.listen, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	go func() {
		<-ctx.Done()
		// The requests under way get five seconds to end.
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shut)
	}()
	fmt.Fprintf(o.s.Err, "ferry server listening on %s\n", o.listen)
	if err := hs.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// server builds the handler's configuration from the flags.
func (o *options) server() (*server.Server, error) {
	rc, _, err := kubeclient.Config(o.kubeconfig, "")
	if err != nil {
		return nil, err
	}
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		return nil, err
	}
	srv := &server.Server{Client: c, Local: rc, Log: log.New(o.s.Err, "", log.LstdFlags), Git: gitwebhook.Config{MainBranches: o.mainBranches},
		BuildRegistry: o.buildRegistry}
	if o.gitSecretFile != "" {
		secret, err := readSecret(o.gitSecretFile)
		if err != nil {
			return nil, fmt.Errorf("--git-secret-file: %w", err)
		}
		srv.Git.Secret = []byte(secret)
	}
	if o.registryToken != "" {
		if srv.RegistryToken, err = readSecret(o.registryToken); err != nil {
			return nil, fmt.Errorf("--registry-token-file: %w", err)
		}
	}
	if srv.AuthProxy, err = o.authProxy(); err != nil {
		return nil, err
	}
	return srv, nil
}

// authProxy is the authenticating proxy the flags describe, nil when none: its user
// header and its secret go together, since headers without a secret prove nothing.
func (o *options) authProxy() (*api.ProxyAuth, error) {
	if o.proxy.UserHeader == "" && o.proxy.GroupsHeader == "" && o.proxySecret == "" {
		return nil, nil
	}
	if o.proxySecret == "" {
		return nil, errors.New("--auth-proxy-secret-file is required with an authenticating proxy's headers")
	}
	secret, err := readSecret(o.proxySecret)
	if err != nil {
		return nil, fmt.Errorf("--auth-proxy-secret-file: %w", err)
	}
	p := o.proxy
	p.Secret = []byte(secret)
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("--auth-proxy-user-header: %w", err)
	}
	return &p, nil
}

// readSecret reads a secret file (a mounted Secret key), without its last newline.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", errors.New(path + " is empty")
	}
	return s, nil
}
