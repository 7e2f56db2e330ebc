package promotion

import (
	"context"
	"fmt"
	"time"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/freeze"
)

// maxFreezeWait bounds one wait for a freeze to end, so a changed clock or app file is
// noticed; an override wakes the Promotion at once (its spec changes).
const maxFreezeWait = 5 * time.Minute

// freezeCheck holds the Promotion while a freeze window of the app or the stage is on,
// unless a person overrode it with a reason. A rollback is never held: returning to a
// verified version is what one wants during a freeze. It runs as the first step and
// again before the deployment starts, since approvals may wait into a freeze.
func (r *Reconciler) freezeCheck(_ context.Context, f *facts) (bool, time.Duration, error) {
	step := ferryv1.StepFreeze
	if f.prom.Spec.Rollback != nil {
		setMessage(f.prom, step, "a rollback is not held by freeze windows")
		return true, 0, nil
	}
	frozen, until, err := r.frozen(f)
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	if frozen == "" {
		setMessage(f.prom, step, "no freeze window is on")
		return true, 0, nil
	}
	if o := f.prom.Spec.FreezeOverride; o != nil {
		setMessage(f.prom, step, fmt.Sprintf("freeze %q overridden by %s: %s", frozen, orSomeone(o.User), o.Reason))
		return true, 0, nil
	}
	msg := fmt.Sprintf("frozen by %q until %s (override: ferry override-freeze %s %s --reason R)",
		frozen, until.UTC().Format(time.RFC3339), f.app.Name, f.stage.Name)
	setMessage(f.prom, step, msg)
	f.prom.Status.Message = msg
	return false, min(until.Sub(r.Now())+time.Second, maxFreezeWait), nil
}

// frozen returns the name of the freeze window that is on now, and when it ends.
func (r *Reconciler) frozen(f *facts) (string, time.Time, error) {
	file, err := f.file()
	if err != nil {
		return "", time.Time{}, err
	}
	windows, err := file.App.FreezeWindows(f.stage.Name)
	if err != nil {
		return "", time.Time{}, err
	}
	w, until, ok := freeze.Active(windows, r.Now())
	if !ok {
		return "", time.Time{}, nil
	}
	return w.Name, until, nil
}

// frozenBeforeDeploy is the second look before the deployment starts: it says why the
// Promotion waits, or "" when it may go on.
func (r *Reconciler) frozenBeforeDeploy(f *facts) (string, time.Duration) {
	if f.prom.Spec.Rollback != nil || f.prom.Spec.FreezeOverride != nil {
		return "", 0
	}
	name, until, err := r.frozen(f)
	if err != nil || name == "" {
		return "", 0
	}
	return fmt.Sprintf("frozen by %q until %s before deploying", name, until.UTC().Format(time.RFC3339)), min(until.Sub(r.Now())+time.Second, maxFreezeWait)
}
