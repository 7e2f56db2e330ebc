// Package controller implements `ferry controller`: run the reconcilers.
package controller

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/controller"
	"ferry.dev/ferry/internal/controller/changerecord"
	"ferry.dev/ferry/internal/controller/outbox"
	"ferry.dev/ferry/internal/controller/release"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/messages"
)

type options struct {
	s          iostreams.Streams
	kubeconfig string
	sinks      []string
	slack      outbox.Slack
	email      outbox.Email
	snow       changerecord.ServiceNow
	otlp       string
	templates  string
	builder    release.Builder
	builderEnv []string
	ctl        controller.Options
}

// NewCommand returns the controller verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	return newCommand(&options{s: s})
}

func newCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run Ferry's reconcilers (leader election, /metrics, /healthz, /readyz)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: in-cluster, $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.ctl.MetricsAddr, "metrics-bind-address", ":8080", "address of /metrics (0 turns it off)")
	f.StringVar(&o.ctl.PprofAddr, "pprof-bind-address", "", "address of Go's /debug/pprof/ profiles (off when empty); to see where the controller's time goes")
	f.StringVar(&o.ctl.ProbeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	f.BoolVar(&o.ctl.LeaderElection, "leader-elect", false, "elect one active replica among several")
	f.StringVar(&o.ctl.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader Lease (default: the pod's)")
	f.StringVar(&o.ctl.Namespace, "namespace", "", "watch only this namespace (default: all)")
	f.StringVar(&o.ctl.WebhookAddr, "webhook-bind-address", "", "serve the validating admission webhook here, host:port (default: off)")
	f.StringVar(&o.ctl.WebhookURL, "webhook-url", "", "base URL the API server calls the webhook at (default: https://ADDRESS)")
	f.IntVar(&o.ctl.PromotionHistory, "promotion-history", 20, "finished promotions kept per stage; older ones are deleted (negative: keep all)")
	f.IntVar(&o.ctl.Workers, "workers", 16, "objects of each kind reconciled at once")
	f.Float32Var(&o.ctl.QPS, "kube-api-qps", 100, "requests per second to the API server")
	f.IntVar(&o.ctl.Burst, "kube-api-burst", 200, "burst of requests to the API server")
	f.StringArrayVar(&o.sinks, "event-sink", nil, "NAME=URL: send every step's CloudEvent there, in order, retried until it answers (repeatable)")
	f.DurationVar(&o.ctl.EventMaxBackoff, "event-max-backoff", time.Minute, "longest wait between tries of an event sink that failed")
	f.StringVar(&o.slack.Channel, "slack-channel", "", "tell each delivery in a thread of this Slack channel (with --slack-token-secret; an app file's notify.slack.channelName wins)")
	f.StringVar(&o.slack.TokenSecret, "slack-token-secret", "", "NAMESPACE/NAME/KEY of the Secret holding the Slack bot token")
	f.StringVar(&o.slack.APIURL, "slack-api-url", "https://slack.com/api", "base URL of Slack's Web API")
	f.StringVar(&o.slack.ApproveURL, "approve-url", "", "where people approve, linked from Slack (APP and STAGE are filled in)")
	f.StringVar(&o.email.Server, "smtp-server", "", "mail approvals needed, stages done or failed and rollbacks through this SMTP server, host:port")
	f.StringVar(&o.email.From, "mail-from", "ferry@localhost", "the mail's sender")
	f.StringSliceVar(&o.email.To, "mail-to", nil, "the mail's recipients (with --smtp-server; an app file's notify.email takes their place)")
	f.StringVar(&o.email.Secret, "smtp-secret", "", "NAMESPACE/NAME of a Secret with the SMTP username and password (default: no authentication)")
	f.StringVar(&o.builder.Image, "builder-image", "", "the image build Jobs run (ferry build as its entrypoint; on the dev cluster: ferry dev builder-image); without it Releases made from a commit wait")
	f.StringSliceVar(&o.builder.HostPaths, "builder-host-path", nil, "a node path mounted read-only in build Jobs at the same path (repeatable; the dev cluster's Go toolchain and module cache)")
	f.StringSliceVar(&o.builderEnv, "builder-env", nil, "KEY=VALUE set in build Jobs (repeatable)")
	f.BoolVar(&o.builder.HostNetwork, "builder-host-network", false, "run build Jobs in the node's network (the dev cluster's registry listens on its loopback)")
	f.DurationVar(&o.builder.Timeout, "builder-timeout", 30*time.Minute, "how long a build may take")
	f.StringVar(&o.builder.DockerfileImage, "dockerfile-builder-image", "", "the Dockerfile builder of docker and maven apps, a kaniko executor image (it gets --context, --dockerfile, --destination and --digest-file); without it their Releases wait")
	f.StringVar(&o.templates, "message-templates", "", "a YAML file of Go templates that replace the built-in words of Slack and mail messages (see ferry's internal/messages/default.yaml)")
	f.StringVar(&o.otlp, "otlp-endpoint", "", "send each finished promotion's trace to this OpenTelemetry collector over OTLP/HTTP (default path /v1/traces)")
	f.StringVar(&o.snow.URL, "servicenow-url", "", "keep every change record as a change_request in this ServiceNow instance too (with --servicenow-secret)")
	f.StringVar(&o.snow.Secret, "servicenow-secret", "", "NAMESPACE/NAME of a Secret with the ServiceNow username and password")
	return cmd
}

func (o *options) validate() error {
	if o.ctl.ProbeAddr == "" {
		return errors.New("--health-probe-bind-address is required")
	}
	seen := map[string]bool{}
	for _, s := range o.sinks {
		// Errors never repeat the URL: it may hold a token.
		name, raw, ok := strings.Cut(s, "=")
		if !ok || name == "" || strings.Contains(name, "/") {
			return errors.New("--event-sink: expected NAME=http(s)://HOST/PATH")
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--event-sink %q: expected NAME=http(s)://HOST/PATH", name)
		}
		if seen[name] {
			return fmt.Errorf("--event-sink %q is given twice", name)
		}
		seen[name] = true
		o.ctl.EventSinks = append(o.ctl.EventSinks, outbox.Sink{Name: name, URL: raw})
	}
	if (o.slack.Channel == "") != (o.slack.TokenSecret == "") {
		return errors.New("--slack-channel and --slack-token-secret go together")
	}
	if o.slack.Channel != "" {
		if len(strings.Split(o.slack.TokenSecret, "/")) != 3 {
			return fmt.Errorf("--slack-token-secret %q: expected NAMESPACE/NAME/KEY", o.slack.TokenSecret)
		}
		slack := o.slack
		o.ctl.EventSinks = append(o.ctl.EventSinks, outbox.Sink{Name: "slack", Slack: &slack})
	}
	if (o.email.Server == "") != (len(o.email.To) == 0) {
		return errors.New("--smtp-server and --mail-to go together")
	}
	if o.email.Server != "" {
		email := o.email
		o.ctl.EventSinks = append(o.ctl.EventSinks, outbox.Sink{Name: "email", Email: &email})
	}
	if o.otlp != "" {
		if u, err := url.Parse(o.otlp); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("--otlp-endpoint: expected http(s)://HOST[:PORT][/PATH]")
		}
		o.ctl.EventSinks = append(o.ctl.EventSinks, outbox.Sink{Name: "otlp", OTLP: &outbox.OTLP{Endpoint: o.otlp}})
	}
	if o.builder.Image != "" {
		b := o.builder
		for _, kv := range o.builderEnv {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("--builder-env %q: expected KEY=VALUE", kv)
			}
			b.Env = append(b.Env, corev1.EnvVar{Name: k, Value: v})
		}
		o.ctl.Builder = &b
	}
	if o.templates != "" {
		m, err := messages.Load(o.templates)
		if err != nil {
			return fmt.Errorf("--message-templates: %w", err)
		}
		o.ctl.Messages = m
	}
	if (o.snow.URL == "") != (o.snow.Secret == "") {
		return errors.New("--servicenow-url and --servicenow-secret go together")
	}
	if o.snow.URL != "" {
		if u, err := url.Parse(o.snow.URL); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return errors.New("--servicenow-url: expected https://INSTANCE.service-now.com")
		}
		snow := o.snow
		o.ctl.ServiceNow = &snow
	}
	return nil
}

func (o *options) run(ctx context.Context) error {
	// A long-running controller holds its cache for good: a tighter collector keeps
	// its memory near what the cache needs (GOGC in the environment wins).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	ctx = logr.NewContext(ctx, zap.New(zap.WriteTo(o.s.Err)))
	rc, _, err := kubeclient.Config(o.kubeconfig, "")
	if err != nil {
		return err
	}
	return controller.Run(ctx, rc, o.ctl)
}
