package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
)

// Registry is Debian's docker-registry (the distribution registry) on a loopback port,
// for one test: it can be stopped and started again on the same port and storage, and
// its access log is kept to count what it was asked.
type Registry struct {
	// Addr is 127.0.0.1:PORT.
	Addr string
	// User and Password are the good credentials when it was started with auth.
	User, Password string

	t    testing.TB
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	log  *bytes.Buffer
	logs []string
}

// StartRegistry runs a registry until the test ends; with auth, it asks for the basic
// credentials r.User / r.Password (htpasswd).
func StartRegistry(t testing.TB, auth bool) *Registry {
	t.Helper()
	return StartRegistryWith(t, RegistryOptions{Auth: auth})
}

// RegistryOptions configure a test registry.
type RegistryOptions struct {
	// Auth asks for basic credentials.
	Auth bool
	// NotifyURL receives the registry's notifications, with NotifyToken as bearer
	// token when set.
	NotifyURL, NotifyToken string
}

// StartRegistryWith runs a registry configured by o until the test ends.
func StartRegistryWith(t testing.TB, o RegistryOptions) *Registry {
	t.Helper()
	auth := o.Auth
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := &Registry{Addr: addr, t: t, dir: t.TempDir()}
	conf := fmt.Sprintf("version: 0.1\nlog: {level: info, accesslog: {disabled: false}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: %s}\n",
		filepath.Join(r.dir, "data"), addr)
	if auth {
		r.User, r.Password = "ci", "s3cret-registry-pass"
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(r.dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(r.User+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		conf += fmt.Sprintf("auth: {htpasswd: {realm: ferry-test, path: %s}}\n", htpasswd)
	}
	if o.NotifyURL != "" {
		conf += fmt.Sprintf("notifications: {endpoints: [{name: test, url: %q, timeout: 2s, threshold: 3, backoff: 200ms", o.NotifyURL)
		if o.NotifyToken != "" {
			conf += fmt.Sprintf(", headers: {Authorization: [%q]}", "Bearer "+o.NotifyToken)
		}
		conf += "}]}\n"
	}
	if err := os.WriteFile(filepath.Join(r.dir, "config.yml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start runs the registry (again) and waits until it answers.
func (r *Registry) Start() {
	r.t.Helper()
	r.mu.Lock()
	r.log = &bytes.Buffer{}
	cmd := exec.Command("docker-registry", "serve", filepath.Join(r.dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = syncWriter{&r.mu, r.log}, syncWriter{&r.mu, r.log}
	r.cmd = cmd
	r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting docker-registry (installed by `ferry dev build`): %v", err)
	}
	Eventually(r.t, 10*time.Second, func() error {
		resp, err := http.Get("http://" + r.Addr + "/v2/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

// Stop stops the registry, keeping its access log so far.
func (r *Registry) Stop() {
	r.mu.Lock()
	cmd := r.cmd
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	r.mu.Lock()
	r.logs = append(r.logs, r.log.String())
	r.mu.Unlock()
}

// Push pushes a small random image as REPO:TAG and returns its digest.
func (r *Registry) Push(repo, tag string) string {
	r.t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		r.t.Fatal(err)
	}
	ref, err := name.NewTag(r.Addr+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		r.t.Fatal(err)
	}
	auth := authn.Anonymous
	if r.User != "" {
		auth = &authn.Basic{Username: r.User, Password: r.Password}
	}
	if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithContext(context.Background())); err != nil {
		r.t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		r.t.Fatal(err)
	}
	return d.String()
}

// accessLine is one request of the registry's access log (combined log format).
var accessLine = regexp.MustCompile(`"([A-Z]+) (/v2/[^ ]*) HTTP/[0-9.]+" (\d{3}) `)

// Requests counts the logged requests whose method is method (any when "") and whose
// path matches the expression.
func (r *Registry) Requests(method string, path *regexp.Regexp) int {
	r.mu.Lock()
	all := strings.Join(r.logs, "")
	if r.log != nil && r.cmd != nil {
		all += r.log.String()
	}
	r.mu.Unlock()
	n := 0
	for _, m := range accessLine.FindAllStringSubmatch(all, -1) {
		if (method == "" || m[1] == method) && path.MatchString(m[2]) {
			n++
		}
	}
	return n
}

// syncWriter writes under the registry's lock.
type syncWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
