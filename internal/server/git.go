package server

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/gitwebhook"
	"ferry.dev/ferry/internal/preview"
)

// act does what a verified trigger asks, for every Application of its repository, and
// says what it did. A closed pull request's previews are deleted. A push or an open
// pull request is recorded as an Event on each Application: making a Release from a
// commit needs a build of it, which the server does not run yet.
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
		if err := s.note(ctx, &app, t); err != nil {
			return done, err
		}
		done = append(done, "noted on application "+app.Namespace+"/"+app.Name)
	}
	return done, nil
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

// note records the trigger as a Kubernetes Event on the Application.
func (s *Server) note(ctx context.Context, app *ferryv1.Application, t gitwebhook.Trigger) error {
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
		Message: fmt.Sprintf("%s: %s flow for %s (%s); no build runs yet, so no Release is made", t.Provider, t.Kind, shortSHA(t.Commit), t.Reason),
	}
	_, err = cs.CoreV1().Events(app.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}

func shortSHA(c string) string { return c[:min(len(c), 12)] }
