// Package demo is the README's main job: it builds the example service into an image,
// pushes it to the dev cluster's registry, deploys it with plain manifests and checks
// that it answers through its Service. The end-to-end tests deploy it the same way.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"text/template"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"ferry.dev/ferry/internal/imagebuild"
	"ferry.dev/ferry/internal/kubeapply"
	"ferry.dev/ferry/internal/rollout"
)

//go:embed hello.yaml.tmpl
var helloTmpl string

// Hello says how to build and deploy the example service.
type Hello struct {
	RepoDir   string // the module root holding examples/hello
	Registry  string // for example 127.0.0.1:5000
	Version   string
	Namespace string
	Replicas  int
}

// Deployed is what Deploy made.
type Deployed struct {
	Image     string // pinned by digest
	ClusterIP string
	URL       string // http://CLUSTER-IP/info
}

// Deploy builds and pushes the image, applies the manifests and waits until the
// Deployment is available, within timeout.
func Deploy(ctx context.Context, rc *rest.Config, h Hello, timeout time.Duration) (Deployed, error) {
	img, err := imagebuild.Build(ctx, imagebuild.Options{
		Dir: h.RepoDir, Package: "./examples/hello", Ref: fmt.Sprintf("%s/hello:%s", h.Registry, h.Version),
		LDFlags: fmt.Sprintf("-X main.version=%s -X main.commit=%s", h.Version, gitCommit(h.RepoDir)), Insecure: true,
	})
	if err != nil {
		return Deployed{}, err
	}
	var manifest bytes.Buffer
	t := template.Must(template.New("hello").Parse(helloTmpl))
	if err := t.Execute(&manifest, map[string]any{"Namespace": h.Namespace, "Replicas": h.Replicas, "Version": h.Version, "Image": img.DigestRef()}); err != nil {
		return Deployed{}, err
	}
	ap, err := kubeapply.New(rc, "ferry-demo")
	if err != nil {
		return Deployed{}, err
	}
	if err := ap.ApplyManifest(ctx, manifest.Bytes()); err != nil {
		return Deployed{}, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return Deployed{}, err
	}
	if err := WaitAvailable(ctx, cs, h.Namespace, "hello", timeout); err != nil {
		return Deployed{}, err
	}
	svc, err := cs.CoreV1().Services(h.Namespace).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		return Deployed{}, err
	}
	return Deployed{Image: img.DigestRef(), ClusterIP: svc.Spec.ClusterIP, URL: "http://" + svc.Spec.ClusterIP + "/info"}, nil
}

// WaitAvailable waits until the Deployment's current generation is fully rolled out.
func WaitAvailable(ctx context.Context, cs kubernetes.Interface, ns, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
		} else if done, msg := rollout.Complete(d); done {
			return nil
		} else {
			last = msg
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("deployment %s/%s not available within %s: %s", ns, name, timeout, last)
}

// Info is what the example service's /info answers.
type Info struct {
	App     string `json:"app"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// GetInfo asks url for /info, retrying for up to timeout while the Service's rules are
// programmed; every attempt goes to the given cluster-local address only.
func GetInfo(ctx context.Context, url string, timeout time.Duration) (Info, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return Info{}, err
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				var info Info
				if err := json.Unmarshal(body, &info); err != nil {
					return Info{}, fmt.Errorf("%s answered %q: %w", url, body, err)
				}
				return info, nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return Info{}, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return Info{}, fmt.Errorf("no answer from %s within %s: %w", url, timeout, last)
}

func gitCommit(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
