// Package admission is Ferry's validating admission webhook: the API server asks it
// before storing a Promotion or a Release, so one that names an unknown stage, an
// Application that does not exist or a Release of another Application, or a Release
// whose app file does not load, is refused at once with a message naming what is wrong,
// instead of failing later in the controller. The checks that need no other object
// live in the CRDs' schemas; these are the ones that do.
package admission

import (
	"fmt"
	"strings"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

// CheckPromotion says what is wrong with a new Promotion, given its Application and
// Release as the API server has them (nil when they do not exist).
func CheckPromotion(p *ferryv1.Promotion, app *ferryv1.Application, rel *ferryv1.Release) error {
	if app == nil {
		return fmt.Errorf("spec.application: application %q does not exist in namespace %s", p.Spec.Application, p.Namespace)
	}
	if err := hasStage(app, p.Spec.Stage); err != nil {
		return err
	}
	if rel == nil {
		return fmt.Errorf("spec.release: release %q does not exist in namespace %s", p.Spec.Release, p.Namespace)
	}
	if rel.Spec.Application != app.Name {
		return fmt.Errorf("spec.release: release %s belongs to application %s, not %s", rel.Name, rel.Spec.Application, app.Name)
	}
	return nil
}

func hasStage(app *ferryv1.Application, stage string) error {
	names := make([]string, 0, len(app.Spec.Stages))
	for _, s := range app.Spec.Stages {
		if s.Name == stage {
			return nil
		}
		names = append(names, s.Name)
	}
	return fmt.Errorf("spec.stage: application %s has no stage %q (its stages: %s)", app.Name, stage, strings.Join(names, ", "))
}

// CheckRelease says what is wrong with a new Release, given its Application (nil when
// it does not exist): the Application must exist and the app file must load.
func CheckRelease(rel *ferryv1.Release, app *ferryv1.Application) error {
	if app == nil {
		return fmt.Errorf("spec.application: application %q does not exist in namespace %s", rel.Spec.Application, rel.Namespace)
	}
	if _, err := appfile.LoadBytes("spec.appFile", []byte(rel.Spec.AppFile), "", appfile.Options{}); err != nil {
		return fmt.Errorf("spec.appFile does not load: %s", firstLines(err.Error(), 5))
	}
	return nil
}

// firstLines keeps a long list of problems readable in an API error.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "; ")
	}
	return strings.Join(lines[:n], "; ") + fmt.Sprintf("; and %d more", len(lines)-n)
}
