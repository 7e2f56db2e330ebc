package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/gitwebhook"
	"ferry.dev/ferry/internal/preview"
	"ferry.dev/ferry/internal/release"
)

// act does what a verified trigger asks, for every Application of its repository, and
// says what it did. A closed pull request's previews are deleted; a push or an opened or
// updated pull request makes the Release of its commit, which the controller builds.
func (s *Server) act(ctx context.Context, t gitwebhook.Trigger) ([]string, error) {
	if t.Kind == gitwebhook.Ignore {
		return nil, nil
	}
	apps, err := s.applications(ctx, t.RepoURL)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, app := range apps {
		if t.Kind == gitwebhook.ClosePR {
			deleted, err := preview.Delete(ctx, s.Client, s.Local, app.Namespace, app.Name, preview.Selector{PullRequest: int32(t.PullRequest)}) //nolint:gosec // a pull request number
			if err != nil {
				return done, fmt.Errorf("application %s/%s: %w", app.Namespace, app.Name, err)
			}
			done = append(done, deleted...)
			continue
		}
		did, err := s.release(ctx, &app, t)
		if err != nil {
			return done, err
		}
		done = append(done, did)
	}
	return done, nil
}

// release makes the Release of the trigger's commit for the Application, which the
// controller builds; without a build registry, or for an app that builds nothing, the
// trigger is only noted on the Application.
func (s *Server) release(ctx context.Context, app *ferryv1.Application, t gitwebhook.Trigger) (string, error) {
	if s.BuildRegistry == "" {
		return s.noteOnly(ctx, app, t, "no --build-registry is configured, so no Release is made")
	}
	rel, made, err := release.FromCommit(ctx, s.Client, release.CommitOptions{Namespace: app.Namespace, Application: app.Name,
		Registry: s.BuildRegistry, Commit: t.Commit, Branch: cmp.Or(t.Branch, t.Tag), Flow: ferryv1.Flow(t.Kind),
		PullRequest: int32(t.PullRequest), CommittedAt: t.CommittedAt, CreatedBy: string(t.Provider) + ":" + t.Actor}) //nolint:gosec // a pull request number
	switch {
	case errors.Is(err, release.ErrNothingToBuild):
		return s.noteOnly(ctx, app, t, err.Error())
	case err != nil:
		return "", err
	case !made:
		return "release " + app.Namespace + "/" + rel.Name + " has that commit already", nil
	}
	return "release " + app.Namespace + "/" + rel.Name + " made, to be built", nil
}

// noteOnly notes the trigger on the Application with why nothing more was done.
func (s *Server) noteOnly(ctx context.Context, app *ferryv1.Application, t gitwebhook.Trigger, why string) (string, error) {
	if err := s.note(ctx, app, t, why); err != nil {
		return "", err
	}
	return "noted on application " + app.Namespace + "/" + app.Name + ": " + why, nil
}

// applications are those whose spec.source.repoURL is the trigger's repository (compared
// without a trailing .git or slash, and case-insensitively, as git hosts do).
func (s *Server) applications(ctx context.Context, repo string) ([]ferryv1.Application, error) {
	list := &ferryv1.ApplicationList{}
	if err := s.Client.List(ctx, list); err != nil {
		return nil, err
	}
	var out []ferryv1.Application
	for _, a := range list.Items {
		if a.Spec.Source != nil && a.Spec.Source.RepoURL != "" && sameRepo(a.Spec.Source.RepoURL, repo) {
			out = append(out, a)
		}
	}
	return out, nil
}

func sameRepo(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git")) }
	return norm(a) == norm(b)
}

// note records the trigger as a Kubernetes Event on the Application, with why.
func (s *Server) note(ctx context.Context, app *ferryv1.Application, t gitwebhook.Trigger, why string) error {
	cs, err := kubernetes.NewForConfig(s.Local)
	if err != nil {
		return err
	}
	now := metav1.NewTime(s.Now())
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: app.Name + ".", Namespace: app.Namespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: ferryv1.GroupVersion.String(), Kind: "Application", Name: app.Name, Namespace: app.Namespace, UID: app.UID},
		Reason:         "GitTrigger", Type: corev1.EventTypeNormal, FirstTimestamp: now, LastTimestamp: now, Count: 1,
		Source:  corev1.EventSource{Component: "ferry-server"},
		Message: fmt.Sprintf("%s: %s flow for %s (%s); %s", t.Provider, t.Kind, shortSHA(t.Commit), t.Reason, why),
	}
	_, err = cs.CoreV1().Events(app.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}

func shortSHA(c string) string { return c[:min(len(c), 12)] }
