package promotion

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/webhookhook"
)

// The Promotion's metadata is written only to clear an answer left for an earlier hook
// of the same name (clearStaleAnswer).
// +kubebuilder:rbac:groups=ferry.dev,resources=promotions,verbs=patch

// defaultWebhookSecretKey is the key of the hook's Secret when secretRef names none.
const defaultWebhookSecretKey = "secret"

// maxAnswerMessage bounds what an outside system's words add to a message, which goes
// into Events too (their note is capped at 1 KiB).
const maxAnswerMessage = 512

// webhook runs a webhook hook: it calls the outside system, signed when the hook names
// a Secret, and goes by the outcome. Passed ends the hook; Failed fails the step; Retry
// calls again after webhookhook.Backoff; Pending (202) waits for the answer the system
// leaves in the Promotion's annotation hooks.ferry.dev/<hook>. The hook's timeout,
// counted from its start, bounds all of it.
//
// Each call is first recorded in status.hooks (attempts, the time of the next), written
// on the condition that the Promotion is still as read, and the outcome is recorded
// after it: a restarted controller, or a reconcile that read a stale copy, does not call
// again a hook that passed or was accepted. A reconcile makes one call at most. A crash
// between a call and the record of its outcome makes the call again after the backoff,
// with the same delivery id, by which a receiver can tell.
func (r *Reconciler) webhook(ctx context.Context, f *facts, step string, h *appfile.WebhookHook) (bool, time.Duration, error) {
	hs := r.hookStatus(f.prom, step, h.Name, ferryv1.HookKindWebhook)
	timeout := defaultHookTimeout
	if h.TimeoutSeconds != nil {
		timeout = time.Duration(*h.TimeoutSeconds) * time.Second
	}
	now := r.Now()
	left := hs.StartedAt.Add(timeout).Sub(now)
	switch hs.Phase {
	case ferryv1.HookSucceeded:
		return true, 0, nil
	case ferryv1.HookFailed:
		return false, 0, fmt.Errorf("%w: %s", errStepFailed, hs.Message)
	case ferryv1.HookWaiting:
		return r.awaitAnswer(f, step, h, hs, timeout, left)
	}
	if left <= 0 {
		msg := fmt.Sprintf("webhook hook %s did not answer within %s", h.Name, timeout)
		if hs.Message != "" {
			msg += " (last: " + hs.Message + ")"
		}
		return hookFailed(hs, msg)
	}
	if hs.NextAttemptAt != nil && now.Before(hs.NextAttemptAt.Time) {
		return false, min(hs.NextAttemptAt.Sub(now), left), nil
	}
	if hs.Attempts == 0 {
		if cleared, err := r.clearStaleAnswer(ctx, f.prom, h.Name); cleared || err != nil {
			return false, time.Second, err
		}
	}
	secret, err := r.webhookSecret(ctx, f.prom.Namespace, h)
	if err != nil {
		if errors.Is(err, errStepFailed) {
			return hookFailed(hs, strings.TrimPrefix(err.Error(), errStepFailed.Error()+": "))
		}
		return false, 0, err
	}

	hs.Attempts++
	next := secondAfter(now.Add(webhookhook.Backoff(int(hs.Attempts))))
	hs.NextAttemptAt, hs.Message = &next, fmt.Sprintf("calling (attempt %d)", hs.Attempts)
	// Written (conditionally on the Promotion being as read) before the call is made.
	if err := f.status.flush(ctx); err != nil {
		return false, 0, fmt.Errorf("recording webhook hook %s's attempt %d before making it: %w", h.Name, hs.Attempts, err)
	}
	caller := &webhookhook.Caller{Secret: secret, Timeout: min(webhookhook.DefaultTimeout, left)}
	res := caller.Call(ctx, h.URL, h.Headers, payload(f, step, h.Name, int(hs.Attempts), now))
	switch res.Outcome {
	case webhookhook.Passed:
		hs.Phase, hs.NextAttemptAt, hs.Message = ferryv1.HookSucceeded, nil, answer(fmt.Sprintf("passed (%d)", res.Status), res.Message)
		setMessage(f.prom, step, fmt.Sprintf("webhook hook %s passed", h.Name))
		// The next hook is called by the next reconcile, which this status write wakes.
		return false, time.Second, nil
	case webhookhook.Pending:
		hs.Phase, hs.NextAttemptAt = ferryv1.HookWaiting, nil
		hs.Message = answer("accepted (202); waiting for its answer in the annotation "+webhookhook.AnnotationKey(h.Name), res.Message)
		setMessage(f.prom, step, fmt.Sprintf("webhook hook %s accepted the call; waiting for its answer in the annotation %s", h.Name, webhookhook.AnnotationKey(h.Name)))
		return false, left, nil
	case webhookhook.Failed:
		return hookFailed(hs, fmt.Sprintf("webhook hook %s failed: %s", h.Name, shorten(res.Message, 2*maxAnswerMessage)))
	default: // Retry
		// The backoff counts from the attempt's end: an attempt may take its timeout.
		after := r.Now()
		next := secondAfter(after.Add(webhookhook.Backoff(int(hs.Attempts))))
		wait := next.Sub(after)
		hs.NextAttemptAt, hs.Message = &next, shorten(res.Message, 2*maxAnswerMessage)
		setMessage(f.prom, step, fmt.Sprintf("webhook hook %s gave no answer on attempt %d (%s); calling again in %s",
			h.Name, hs.Attempts, hs.Message, wait.Round(time.Second)))
		// Past the timeout the next look fails the hook instead of calling.
		return false, max(min(wait, hs.StartedAt.Add(timeout).Sub(after)), time.Second), nil
	}
}

// awaitAnswer reads the answer of a hook that accepted its call, from the Promotion's
// annotation: pass ends the hook, fail fails the step with the answer's message. An
// answer that cannot be read is shown, and a valid one awaited. The annotation's change
// wakes the Promotion; the wait returned is only the timeout's.
func (r *Reconciler) awaitAnswer(f *facts, step string, h *appfile.WebhookHook, hs *ferryv1.HookStatus, timeout, left time.Duration) (bool, time.Duration, error) {
	key := webhookhook.AnnotationKey(h.Name)
	var invalid error
	if raw, ok := f.prom.Annotations[key]; ok {
		a, err := webhookhook.ParseAnswer(raw)
		switch {
		case err != nil:
			invalid = err
		case a.Passed():
			hs.Phase, hs.Message = ferryv1.HookSucceeded, answer("answered pass", a.Message)
			setMessage(f.prom, step, fmt.Sprintf("webhook hook %s answered pass", h.Name))
			return true, 0, nil
		default:
			return hookFailed(hs, answer(fmt.Sprintf("webhook hook %s answered fail", h.Name), a.Message))
		}
	}
	if left <= 0 {
		msg := fmt.Sprintf("webhook hook %s did not answer within %s (it accepted the call; no answer came in the annotation %s)", h.Name, timeout, key)
		if invalid != nil {
			msg = fmt.Sprintf("webhook hook %s did not answer within %s (the annotation %s holds no valid answer: %v)", h.Name, timeout, key, invalid)
		}
		return hookFailed(hs, msg)
	}
	if invalid != nil {
		msg := fmt.Sprintf("webhook hook %s: the annotation %s holds no valid answer (%v); waiting for one", h.Name, key, invalid)
		hs.Message = msg
		setMessage(f.prom, step, msg)
	}
	return false, left, nil
}

// clearStaleAnswer removes the hook's answer annotation before the hook's first call:
// no answer to a call can come before it, so one already there was left for an earlier
// hook of the same name (a post-deploy hook run again as a rollback test). The write is
// conditional on the Promotion being as read. It reports whether it wrote.
func (r *Reconciler) clearStaleAnswer(ctx context.Context, p *ferryv1.Promotion, hook string) (bool, error) {
	key := webhookhook.AnnotationKey(hook)
	if _, ok := p.Annotations[key]; !ok {
		return false, nil
	}
	cleared := p.DeepCopy()
	delete(cleared.Annotations, key)
	if err := r.Patch(ctx, cleared, client.MergeFromWithOptions(p, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, fmt.Errorf("clearing the earlier answer in the annotation %s: %w", key, err)
	}
	return true, nil
}

// webhookSecret reads the HMAC secret the hook's calls are signed with: nil when the
// hook names no Secret. A missing Secret or key fails the step.
func (r *Reconciler) webhookSecret(ctx context.Context, ns string, h *appfile.WebhookHook) ([]byte, error) {
	ref := h.SecretRef
	if ref == nil {
		return nil, nil
	}
	key := ref.Key
	if key == "" {
		key = defaultWebhookSecretKey
	}
	sec := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, sec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: webhook hook %s: its Secret %s does not exist in namespace %s", errStepFailed, h.Name, ref.Name, ns)
		}
		return nil, fmt.Errorf("webhook hook %s: reading its Secret %s: %w", h.Name, ref.Name, err)
	}
	if len(sec.Data[key]) == 0 {
		return nil, fmt.Errorf("%w: webhook hook %s: Secret %s has no key %q to sign with", errStepFailed, h.Name, ref.Name, key)
	}
	return sec.Data[key], nil
}

// payload is what a webhook hook is told: what is delivered, where, and which attempt.
func payload(f *facts, step, hook string, attempt int, now time.Time) webhookhook.Payload {
	app, tests := f.images()
	p := webhookhook.Payload{
		Hook: hook, Phase: step, Application: f.app.Name, Stage: f.stage.Name, Version: f.release.Spec.Version,
		Release: f.release.Name, Promotion: f.prom.Name, Namespace: f.prom.Namespace,
		Images: webhookhook.Images{App: app, Tests: tests}, Attempt: attempt, SentAt: now,
	}
	if g := f.release.Spec.Git; g != nil {
		p.Git = webhookhook.Git{Commit: g.Commit, Branch: g.Branch, RepoURL: g.RepoURL}
	}
	return p
}

// secondAfter is t rounded up to the second, as status keeps it: rounded down, a
// retry would come up to a second before its backoff ends.
func secondAfter(t time.Time) metav1.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return metav1.NewTime(t)
}

// hookFailed records the hook's failure and fails the step with msg.
func hookFailed(hs *ferryv1.HookStatus, msg string) (bool, time.Duration, error) {
	hs.Phase, hs.NextAttemptAt, hs.Message = ferryv1.HookFailed, nil, msg
	return false, 0, fmt.Errorf("%w: %s", errStepFailed, msg)
}

// answer is what happened, then what the outside system said, if anything.
func answer(what, said string) string {
	if said == "" {
		return what
	}
	return what + ": " + shorten(said, maxAnswerMessage)
}

// shorten cuts s to at most n bytes on a character boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
