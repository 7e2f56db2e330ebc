// Package dev implements `ferry dev`: bring the local cluster up and down, report its
// health, print its environment, mint kubeconfigs for test users, build images (the build
// Jobs' builder image among them), and run the helper processes the cluster's Prometheus
// and Alertmanager rely on (pod targets, rule files, the kube-state-metrics stand-in,
// Alertmanager's config).
package dev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"ferry.dev/ferry/internal/buildinfo"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/demo"
	"ferry.dev/ferry/internal/devcluster"
	"ferry.dev/ferry/internal/gitbuild"
	"ferry.dev/ferry/internal/imagebuild"
	"ferry.dev/ferry/internal/kubebin"
	"ferry.dev/ferry/internal/podtargets"
)

// NewCommand returns the dev verb and its subcommands.
func NewCommand(s iostreams.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a real single-node Kubernetes on this machine, without Docker",
	}
	cmd.AddCommand(newUp(s), newDown(s), newStatus(s), newEnv(s), newKubeconfig(s), newImage(s), newBuilderImage(s), newDemo(s), newBuild(s), newPackages(s), newPodTargets(), newKubeStateMetrics(), newRuleFiles(s), newAlertmanagerConfig(s))
	return cmd
}

type upOptions struct {
	s         iostreams.Streams
	kwokNodes int
	alertSMTP string
}

func newUp(s iostreams.Streams) *cobra.Command {
	o := &upOptions{s: s}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the cluster (idempotent: starts only what is not running)",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return o.run(c.Context()) },
	}
	cmd.Flags().IntVar(&o.kwokNodes, "kwok-nodes", 0, "add this many simulated nodes (kwok) for scale tests")
	cmd.Flags().StringVar(&o.alertSMTP, "alert-smtp", devcluster.DefaultConfig().AlertSMTPAddr, "loopback host:port of the SMTP server Alertmanager sends alert mail to (plain SMTP, no TLS)")
	return cmd
}

func (o *upOptions) run(ctx context.Context) error {
	cfg := devcluster.DefaultConfig()
	cfg.Out = o.s.Out
	cfg.KwokNodes = o.kwokNodes
	cfg.AlertSMTPAddr = o.alertSMTP
	if err := devcluster.Up(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintf(o.s.Out, "\nPoint kubectl and ferry at it:\n%s", cfg.Env())
	return nil
}

func newDown(s iostreams.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every process of the cluster and remove its bridge, routes, rules, mounts and state",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg := devcluster.DefaultConfig()
			cfg.Out = s.Out
			return devcluster.Down(cfg)
		},
	}
}

func newStatus(s iostreams.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Say what runs and what is unhealthy (exit code 1 unless all is well)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg := devcluster.DefaultConfig()
			st, routesErr := devcluster.Status(cfg)
			if !devcluster.PrintStatus(s.Out, st, routesErr) {
				return errors.New("the dev cluster is not healthy")
			}
			return nil
		},
	}
}

func newEnv(s iostreams.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print shell exports for the cluster (eval \"$(ferry dev env)\")",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg := devcluster.DefaultConfig()
			if _, err := os.Stat(cfg.AdminKubeconfig()); err != nil {
				return fmt.Errorf("the dev cluster is not up (no %s); run `ferry dev up`", cfg.AdminKubeconfig())
			}
			_, err := fmt.Fprint(s.Out, cfg.Env())
			return err
		},
	}
}

type kubeconfigOptions struct {
	s      iostreams.Streams
	user   string
	groups []string
	out    string
}

func newKubeconfig(s iostreams.Streams) *cobra.Command {
	o := &kubeconfigOptions{s: s}
	cmd := &cobra.Command{
		Use:   "kubeconfig",
		Short: "Mint a kubeconfig for a user in the given groups (for approval tests and demos)",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return o.run() },
	}
	cmd.Flags().StringVar(&o.user, "user", "", "user name (required)")
	cmd.Flags().StringSliceVar(&o.groups, "group", nil, "group the user belongs to (repeatable)")
	cmd.Flags().StringVarP(&o.out, "output", "o", "", "file to write (default: stdout)")
	return cmd
}

func (o *kubeconfigOptions) run() error {
	if strings.TrimSpace(o.user) == "" {
		return errors.New("--user is required")
	}
	cfg := devcluster.DefaultConfig()
	path := o.out
	if path == "" {
		f, err := os.CreateTemp("", "ferry-kubeconfig-")
		if err != nil {
			return err
		}
		f.Close()
		defer os.Remove(f.Name())
		path = f.Name()
	}
	if err := cfg.MintKubeconfig(o.user, o.groups, path); err != nil {
		return err
	}
	if o.out != "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, err = o.s.Out.Write(b)
	return err
}

type imageOptions struct {
	s       iostreams.Streams
	dir     string
	pkg     string
	ref     string
	ldflags string
}

func newImage(s iostreams.Streams) *cobra.Command {
	o := &imageOptions{s: s}
	cmd := &cobra.Command{
		Use:   "image PACKAGE REF",
		Short: "Build a linux/amd64 image from a Go main package and push it (prints the digest)",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			o.pkg, o.ref = args[0], args[1]
			return o.run(c.Context())
		},
	}
	cmd.Flags().StringVar(&o.dir, "dir", ".", "directory inside the package's module")
	cmd.Flags().StringVar(&o.ldflags, "ldflags", "", "extra linker flags")
	return cmd
}

func (o *imageOptions) run(ctx context.Context) error {
	res, err := imagebuild.Build(ctx, imagebuild.Options{
		Dir: o.dir, Package: o.pkg, Ref: o.ref, LDFlags: o.ldflags, Insecure: imagebuild.IsLoopback(o.ref),
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.s.Out, res.DigestRef())
	return err
}

type builderImageOptions struct {
	s        iostreams.Streams
	dir      string
	registry string
}

// newBuilderImage pushes the image build Jobs run: this version of ferry, whose
// `ferry build` uses the Go toolchain the pod mounts from the host.
func newBuilderImage(s iostreams.Streams) *cobra.Command {
	o := &builderImageOptions{s: s}
	cmd := &cobra.Command{
		Use:   "builder-image",
		Short: "Build the ferry binary into the build Jobs' image and push it to the dev registry (prints the reference)",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return o.run(c.Context()) },
	}
	cmd.Flags().StringVar(&o.dir, "dir", ".", "the Ferry checkout holding cmd/ferry")
	cmd.Flags().StringVar(&o.registry, "registry", devcluster.DefaultConfig().RegistryAddr, "registry host:port to push to")
	return cmd
}

func (o *builderImageOptions) run(ctx context.Context) error {
	tc, err := gitbuild.HostToolchain(ctx)
	if err != nil {
		return err
	}
	version := buildinfo.Get().Version
	ref := gitbuild.BuilderRef(o.registry, version)
	if _, err := gitbuild.PushBuilder(ctx, gitbuild.BuilderOptions{Dir: o.dir, Ref: ref, Version: version, Toolchain: tc}); err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.s.Out, ref)
	return err
}

type demoOptions struct {
	s       iostreams.Streams
	repo    string
	version string
}

func newDemo(s iostreams.Streams) *cobra.Command {
	o := &demoOptions{s: s}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Bring the cluster up, build and deploy the hello example, and print a URL that answers",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return o.run(c.Context()) },
	}
	cmd.Flags().StringVar(&o.repo, "repo", ".", "the Ferry checkout holding examples/hello")
	cmd.Flags().StringVar(&o.version, "version", "1.0.0", "version to stamp into the hello image")
	return cmd
}

func (o *demoOptions) run(ctx context.Context) error {
	cfg := devcluster.DefaultConfig()
	cfg.Out = o.s.Out
	if err := devcluster.Up(ctx, cfg); err != nil {
		return err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.AdminKubeconfig())
	if err != nil {
		return err
	}
	fmt.Fprintln(o.s.Out, "- building, pushing and deploying examples/hello")
	d, err := demo.Deploy(ctx, rc, demo.Hello{RepoDir: o.repo, Registry: cfg.RegistryAddr, Version: o.version, Namespace: "hello-demo", Replicas: 2}, 3*time.Minute)
	if err != nil {
		return err
	}
	info, err := demo.GetInfo(ctx, d.URL, 30*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.s.Out, "\nhello %s (commit %s) runs as %s\n\n  curl %s\n\n%s", info.Version, info.Commit, d.Image, d.URL, cfg.Env())
	return nil
}

func newBuild(s iostreams.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "build",
		Short: "Build the cluster's binaries into the cache if they are missing (no root needed)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cache := kubebin.Cache{Dir: kubebin.DefaultDir(), Log: func(format string, args ...any) { fmt.Fprintf(s.Out, format+"\n", args...) }}
			return cache.Ensure()
		},
	}
}

type podTargetsOptions struct {
	kubeconfig string
	nodes      []string
	file       string
}

// newPodTargets is the helper process the dev cluster runs for Prometheus.
func newPodTargets() *cobra.Command {
	o := &podTargetsOptions{}
	cmd := &cobra.Command{
		Use:    "pod-targets",
		Short:  "Keep a Prometheus file_sd file in step with the annotated pods of the given nodes",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   func(c *cobra.Command, _ []string) error { return o.run(c.Context()) },
	}
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig to watch pods with")
	cmd.Flags().StringSliceVar(&o.nodes, "node", nil, "node whose pods are scraped (repeatable)")
	cmd.Flags().StringVar(&o.file, "file", "", "file_sd file to write")
	return cmd
}

func (o *podTargetsOptions) run(ctx context.Context) error {
	if o.kubeconfig == "" || o.file == "" || len(o.nodes) == 0 {
		return errors.New("--kubeconfig, --node and --file are required")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	return podtargets.Run(ctx, cs, o.nodes, o.file)
}
