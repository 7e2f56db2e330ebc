// Package bench measures the delivery engine on a running cluster with simulated
// (kwok) nodes: how soon a Release starts its first Promotion, what one controller
// costs in memory and CPU with a thousand Applications of three stages, how long a
// thousand new Applications take to be verified in their first stage, and what time
// Ferry adds over a bare rollout of the same Deployment change. The controller runs as
// its own process (`ferry controller`), so its memory and CPU are read from /proc.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/kubeclient"
)

// Options say what to measure and where.
type Options struct {
	// Kubeconfig reaches the cluster (an admin of it).
	Kubeconfig string
	// FerryBin is the ferry binary that runs the controller.
	FerryBin string
	// Apps is how many Applications the scale run creates (default 1000).
	Apps int
	// LatencySamples is how many Releases the latency run times (default 200).
	LatencySamples int
	// IdleFor is how long idle CPU is measured (default 60 s).
	IdleFor time.Duration
	// Out receives progress lines and the report.
	Out io.Writer
	// PprofAddr, when set, is where the controller under benchmark serves its Go profiles.
	PprofAddr string
}

// Namespace holds the benchmark's Ferry objects; the stages deploy to bench-STAGE.
const Namespace = "ferry-bench"

// env is a running benchmark: clients and the controller process.
type env struct {
	o     Options
	rc    *rest.Config
	c     client.Client
	cs    kubernetes.Interface
	ctl   *exec.Cmd
	probe string
}

// Engine runs every measurement and prints the report.
func Engine(ctx context.Context, o Options) error {
	o = withDefaults(o)
	ctrllog.SetLogger(logr.Discard())
	e, err := setUp(ctx, o)
	if err != nil {
		return err
	}
	defer e.stop()
	r := &Report{}
	steps := []struct {
		name string
		run  func(context.Context, *Report) error
	}{
		{"latency from Release to first Promotion", e.latency},
		{"overhead over a bare rollout", e.overhead},
		{"scale", e.scale},
	}
	for _, s := range steps {
		e.logf("== %s", s.name)
		if err := s.run(ctx, r); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	r.Print(o.Out)
	return nil
}

func withDefaults(o Options) Options {
	if o.Apps == 0 {
		o.Apps = 1000
	}
	if o.LatencySamples == 0 {
		o.LatencySamples = 200
	}
	if o.IdleFor == 0 {
		o.IdleFor = 60 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return o
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.o.Out, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// setUp checks the cluster has simulated nodes, makes a fresh namespace with the local
// Cluster, and starts the controller.
func setUp(ctx context.Context, o Options) (*env, error) {
	rc, _, err := kubeclient.Config(o.Kubeconfig, "")
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = 200, 400
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	e := &env{o: o, rc: rc, c: c, cs: cs}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "type=kwok"})
	if err != nil {
		return nil, err
	}
	if need := (o.Apps + 5 + 249) / 250; len(nodes.Items) < need {
		return nil, fmt.Errorf("the cluster has %d simulated nodes; %d apps need %d (ferry dev up --kwok-nodes %d)", len(nodes.Items), o.Apps, need, need)
	}
	for _, ns := range []string{Namespace, "bench-dev", "bench-stage", "bench-prod", "bench-bare"} {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
			return nil, fmt.Errorf("namespace %s exists: delete it first (kubectl delete namespace %s)", ns, ns)
		}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	if err := c.Create(ctx, &ferryv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: Namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	if err := e.startController(ctx); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

// startController runs `ferry controller` for the benchmark namespace and waits until it
// is ready.
func (e *env) startController(ctx context.Context) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	e.probe = l.Addr().String()
	l.Close()
	logPath := filepath.Join(os.TempDir(), "ferry-bench-controller.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	args := []string{"controller", "--kubeconfig", e.o.Kubeconfig, "--namespace", Namespace,
		"--metrics-bind-address", "0", "--health-probe-bind-address", e.probe}
	if e.o.PprofAddr != "" {
		args = append(args, "--pprof-bind-address", e.o.PprofAddr)
	}
	e.ctl = exec.Command(e.o.FerryBin, args...)
	e.ctl.Stdout, e.ctl.Stderr = logFile, logFile
	if err := e.ctl.Start(); err != nil {
		return err
	}
	logFile.Close()
	e.logf("controller pid %d, log %s", e.ctl.Process.Pid, logPath)
	if err := waitHealthy(ctx, "http://"+e.probe+"/readyz", nil); err != nil {
		return fmt.Errorf("the controller: %w (log: %s)", err, logPath)
	}
	return nil
}

// waitHealthy waits up to 30 s for a process's health check at url to answer 200; a
// close of exited (nil: never) says the process ended first.
func waitHealthy(ctx context.Context, url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url) //nolint:noctx,gosec // a loopback probe of a process the benchmark started, bounded by the loop
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("it exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("it did not answer its health check within 30s")
}

func (e *env) stop() {
	if e.ctl != nil && e.ctl.Process != nil {
		_ = e.ctl.Process.Kill()
		_ = e.ctl.Wait()
	}
}
