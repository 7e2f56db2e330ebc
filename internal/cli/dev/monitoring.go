package dev

import (
	"context"
	"errors"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"ferry.dev/ferry/internal/amconfig"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubestate"
	"ferry.dev/ferry/internal/rulefiles"
)

type kubeStateOptions struct {
	kubeconfig string
	listen     string
}

// newKubeStateMetrics is the helper process that stands in for kube-state-metrics.
func newKubeStateMetrics() *cobra.Command {
	o := &kubeStateOptions{}
	cmd := &cobra.Command{
		Use:    "kube-state-metrics",
		Short:  "Serve the kube-state-metrics series of Ferry's alert rules, computed from the cluster's pods and Deployments",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   func(c *cobra.Command, _ []string) error { return o.run(c.Context()) },
	}
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig to watch pods and Deployments with")
	cmd.Flags().StringVar(&o.listen, "listen", "", "address to serve /metrics on")
	return cmd
}

func (o *kubeStateOptions) run(ctx context.Context) error {
	if o.kubeconfig == "" || o.listen == "" {
		return errors.New("--kubeconfig and --listen are required")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	return kubestate.Run(ctx, cs, o.listen)
}

type ruleFilesOptions struct {
	s          iostreams.Streams
	kubeconfig string
	dir        string
	prometheus string
}

// newRuleFiles is the helper process that writes PrometheusRule objects as rule files.
func newRuleFiles(s iostreams.Streams) *cobra.Command {
	o := &ruleFilesOptions{s: s}
	cmd := &cobra.Command{
		Use:    "rule-files",
		Short:  "Write every PrometheusRule's groups to a Prometheus rule file and reload Prometheus when they change",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   func(c *cobra.Command, _ []string) error { return o.run(c.Context()) },
	}
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig to watch PrometheusRules with")
	cmd.Flags().StringVar(&o.dir, "dir", "", "directory of the rule files (Prometheus' rule_files glob)")
	cmd.Flags().StringVar(&o.prometheus, "prometheus", "", "base URL of the Prometheus to reload (empty: no reload)")
	return cmd
}

func (o *ruleFilesOptions) run(ctx context.Context) error {
	if o.kubeconfig == "" || o.dir == "" {
		return errors.New("--kubeconfig and --dir are required")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	ctx = logr.NewContext(ctx, zap.New(zap.WriteTo(o.s.Err)))
	return rulefiles.Run(ctx, dyn, rulefiles.Options{Dir: o.dir, PrometheusURL: o.prometheus})
}

type alertmanagerConfigOptions struct {
	s            iostreams.Streams
	kubeconfig   string
	file         string
	alertmanager string
	global       amconfig.Global
}

// newAlertmanagerConfig is the helper process that writes AlertmanagerConfig objects
// into Alertmanager's config file.
func newAlertmanagerConfig(s iostreams.Streams) *cobra.Command {
	o := &alertmanagerConfigOptions{s: s}
	cmd := &cobra.Command{
		Use:    "alertmanager-config",
		Short:  "Write every AlertmanagerConfig's routes and receivers into Alertmanager's config file and reload Alertmanager when it changes",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   func(c *cobra.Command, _ []string) error { return o.run(c.Context()) },
	}
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig to watch AlertmanagerConfigs and Secrets with")
	cmd.Flags().StringVar(&o.file, "file", "", "Alertmanager's config file")
	cmd.Flags().StringVar(&o.alertmanager, "alertmanager", "", "base URL of the Alertmanager to reload (empty: no reload)")
	cmd.Flags().StringVar(&o.global.SMTPSmarthost, "smtp-smarthost", "", "host:port of the mail relay alert mail goes through")
	cmd.Flags().StringVar(&o.global.SMTPFrom, "smtp-from", "", "sender of alert mail")
	return cmd
}

func (o *alertmanagerConfigOptions) run(ctx context.Context) error {
	if o.kubeconfig == "" || o.file == "" {
		return errors.New("--kubeconfig and --file are required")
	}
	if err := o.global.Validate(); err != nil {
		return err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	ctx = logr.NewContext(ctx, zap.New(zap.WriteTo(o.s.Err)))
	return amconfig.Run(ctx, dyn, amconfig.Options{File: o.file, Global: o.global, AlertmanagerURL: o.alertmanager})
}
