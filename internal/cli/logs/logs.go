// Package logs implements `ferry logs PROMOTION [--step S] [--hook H]`: the logs Ferry
// kept of a Promotion's hook Jobs, each under a header naming its step, hook and Job.
package logs

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/hooklog"
	"ferry.dev/ferry/internal/kubeclient"
)

// hookSteps are the checkpoints hooks run in.
var hookSteps = []string{ferryv1.StepPreDeploy, ferryv1.StepPostDeploy, ferryv1.StepTests, ferryv1.StepRollbackTests}

type options struct {
	s          iostreams.Streams
	kubeconfig string
	namespace  string
	promotion  string
	step       string
	hook       string
}

// NewCommand returns the logs verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "logs PROMOTION [--step S] [--hook H]",
		Short: "Print the logs kept of a promotion's hook jobs",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.promotion = args[0]
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.step, "step", "", "only this step ("+strings.Join(hookSteps, ", ")+")")
	f.StringVar(&o.hook, "hook", "", "only the hook of this name")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the Promotion (default: the kubeconfig's)")
	return cmd
}

func (o *options) validate() error {
	if o.step != "" && !slices.Contains(hookSteps, o.step) {
		return fmt.Errorf("--step %q is not a step hooks run in (expected one of: %s)", o.step, strings.Join(hookSteps, ", "))
	}
	return nil
}

func (o *options) run(ctx context.Context) error {
	rc, ns, err := kubeclient.Config(o.kubeconfig, o.namespace)
	if err != nil {
		return err
	}
	c, err := Client(rc)
	if err != nil {
		return err
	}
	return Print(ctx, c, ns, o.promotion, o.step, o.hook, o.s.Out)
}

// Client returns a client that reads Promotions and the ConfigMaps logs are kept in.
func Client(rc *rest.Config) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := ferryv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(rc, client.Options{Scheme: scheme})
}

// Print writes the logs kept of the Promotion's hooks in namespace ns, only of the given
// step and hook when set, in the order the hooks ran: each under a line
// "== STEP/HOOK (job NAME) ==", with " in CLUSTER" when the hook ran in several.
func Print(ctx context.Context, c client.Reader, ns, promotion, step, hook string, w io.Writer) error {
	prom := &ferryv1.Promotion{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: promotion}, prom); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("promotion %s does not exist in namespace %s", promotion, ns)
		}
		return err
	}
	kept, err := hooklog.List(ctx, c, ns, prom, step, hook)
	if err != nil {
		return err
	}
	if len(kept) == 0 {
		return noLogs(prom, step, hook)
	}
	runs := map[string]int{}
	for _, k := range kept {
		runs[k.Step+"/"+k.Hook]++
	}
	for _, k := range kept {
		where := "job " + jobName(k.Job)
		if runs[k.Step+"/"+k.Hook] > 1 {
			where += " in " + k.Cluster
		}
		body := k.Log
		if k.Err != "" {
			body = "(no log kept: " + k.Err + ")\n"
		} else if body != "" && !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		if _, err := fmt.Fprintf(w, "== %s/%s (%s) ==\n%s", k.Step, k.Hook, where, body); err != nil {
			return err
		}
	}
	return nil
}

// noLogs says why nothing is printed.
func noLogs(prom *ferryv1.Promotion, step, hook string) error {
	which := ""
	if step != "" {
		which += " in step " + step
	}
	if hook != "" {
		which += " of hook " + hook
	}
	var jobs []string
	for _, h := range prom.Status.Hooks {
		if h.Kind == ferryv1.HookKindJob && (step == "" || h.Step == step) && (hook == "" || h.Name == hook) {
			jobs = append(jobs, h.Step+"/"+h.Name+" ("+strings.ToLower(string(h.Phase))+")")
		}
	}
	if len(jobs) == 0 {
		return fmt.Errorf("promotion %s kept no hook logs%s: no job hook has run%s", prom.Name, which, which)
	}
	return fmt.Errorf("promotion %s kept no hook logs%s (job hooks: %s; a log is kept when the job ends, unless the hook sets fetchJobLogsAfterPolling: false)",
		prom.Name, which, strings.Join(jobs, ", "))
}

// jobName is the name part of namespace/name.
func jobName(job string) string {
	if _, name, ok := strings.Cut(job, "/"); ok {
		return name
	}
	return job
}
