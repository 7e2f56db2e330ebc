// Package answer implements `ferry answer PROMOTION HOOK --result pass|fail [--message
// M]`: an outside system's (or a person's) late answer to a webhook hook or an
// Extension that accepted its call with 202 and keeps the step waiting. The answer goes
// into the Promotion's annotation hooks.ferry.dev/HOOK, which the controller reads.
package answer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/webhookhook"
)

type options struct {
	s          iostreams.Streams
	kubeconfig string
	namespace  string
	answer     webhookhook.Answer
}

// NewCommand returns the answer verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "answer PROMOTION HOOK --result pass|fail [--message M]",
		Short: "Answer a webhook hook or an Extension that keeps a promotion's step waiting (an Extension's hook is ext.NAME)",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return o.run(c.Context(), args[0], args[1])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the Promotion (default: the kubeconfig's)")
	f.StringVar(&o.answer.Result, "result", "", "pass or fail")
	f.StringVar(&o.answer.Message, "message", "", "what the result means, shown on the Promotion")
	return cmd
}

func (o *options) run(ctx context.Context, promotion, hook string) error {
	value, err := encode(o.answer)
	if err != nil {
		return err
	}
	rc, ns, err := kubeclient.Config(o.kubeconfig, o.namespace)
	if err != nil {
		return err
	}
	c, err := kubeclient.Ferry(rc)
	if err != nil {
		return err
	}
	p := &ferryv1.Promotion{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: promotion}, p); err != nil {
		return fmt.Errorf("reading promotion %s/%s: %w", ns, promotion, err)
	}
	if err := waiting(p, hook); err != nil {
		return err
	}
	// The patch names the Promotion's resourceVersion: an answer to a hook that
	// meanwhile ended is refused, not left for a later hook of that name.
	patch := client.MergeFromWithOptions(p.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[webhookhook.AnnotationKey(hook)] = value
	if err := c.Patch(ctx, p, patch); err != nil {
		return fmt.Errorf("answering %s on %s: %w", hook, promotion, err)
	}
	_, err = fmt.Fprintf(o.s.Out, "%s: answered %s %s\n", promotion, hook, o.answer.Result)
	return err
}

// encode is the annotation's value, checked as the controller will read it.
func encode(a webhookhook.Answer) (string, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	if _, err := webhookhook.ParseAnswer(string(b)); err != nil {
		return "", fmt.Errorf("--result: %w", err)
	}
	return string(b), nil
}

// waiting checks that the Promotion has the hook waiting for an answer, naming the
// hooks it has otherwise.
func waiting(p *ferryv1.Promotion, hook string) error {
	var names []string
	for _, h := range p.Status.Hooks {
		if h.Name == hook && h.Phase == ferryv1.HookWaiting {
			return nil
		}
		names = append(names, fmt.Sprintf("%s (%s, %s)", h.Name, h.Step, h.Phase))
	}
	if len(names) == 0 {
		return fmt.Errorf("promotion %s has no hook waiting for an answer: it has run no hooks", p.Name)
	}
	return fmt.Errorf("promotion %s has no hook %s waiting for an answer; its hooks: %s", p.Name, hook, strings.Join(names, ", "))
}
