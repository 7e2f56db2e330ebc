package promotion

import (
	"context"
	"time"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

// testsTimeout bounds a run of the tests image.
const testsTimeout = 10 * 60

// tests runs the Release's tests image, when it has one, as a Job after the
// post-deploy hooks: the app's regression tests, versioned with it.
// A switched blue-green release then holds the old version and finishes.
func (r *Reconciler) tests(ctx context.Context, f *facts) (bool, time.Duration, error) {
	done, wait, err := r.hooks(ctx, f, ferryv1.StepTests, func(*appfile.App) []appfile.Hook { return testsHook(f) })
	if err != nil || !done {
		return done, wait, err
	}
	return r.holdAndFinish(ctx, f, ferryv1.StepTests, checkpoint(f.prom, ferryv1.StepTests).Message)
}

// testsHook is the Job hook that runs the tests image (none without one).
func testsHook(f *facts) []appfile.Hook {
	_, image := f.images()
	if image == "" {
		return nil
	}
	timeout, poll := testsTimeout, 2
	return []appfile.Hook{{Job: &appfile.JobHook{Name: "tests", Image: image, TimeoutSeconds: &timeout, PollPeriodSeconds: &poll}}}
}
