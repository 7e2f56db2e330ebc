package promotion

import (
	"fmt"

	"github.com/Masterminds/semver/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// Verified returns the Succeeded Promotions of one stage, newest first: the first is
// what the stage runs, the ones after it are where a rollback may return to.
func Verified(proms []ferryv1.Promotion, app, stage string) []ferryv1.Promotion {
	var out []ferryv1.Promotion
	for _, p := range proms {
		if p.Spec.Application == app && p.Spec.Stage == stage && p.Status.Phase == ferryv1.PromotionSucceeded {
			out = append(out, p)
		}
	}
	// Insertion sort keeps this dependency-free and stable; a stage has few of them.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && Later(&out[j], &out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// LastVerified returns the Release a failed Promotion returns its stage to: the newest
// verified in the stage other than the failed Promotion's own ("" when there is none).
func LastVerified(proms []ferryv1.Promotion, failed *ferryv1.Promotion) string {
	for _, p := range Verified(proms, failed.Spec.Application, failed.Spec.Stage) {
		if p.Spec.Release != failed.Spec.Release {
			return p.Spec.Release
		}
	}
	return ""
}

// RollbackTarget returns the Release `ferry rollback` returns a stage to: the one of the
// given version when it was verified there, else the newest verified one before the
// Release the stage runs now.
func RollbackTarget(proms []ferryv1.Promotion, app, stage, version string) (string, error) {
	verified := Verified(proms, app, stage)
	if len(verified) == 0 {
		return "", fmt.Errorf("stage %s of %s has no verified release to return to", stage, app)
	}
	current := verified[0].Spec.Release
	for _, p := range verified {
		v := p.Annotations[ferryv1.AnnotationVersion]
		if version != "" && sameVersion(v, version) {
			if p.Spec.Release == current {
				return "", fmt.Errorf("%s already runs %s in %s", app, version, stage)
			}
			return p.Spec.Release, nil
		}
		if version == "" && p.Spec.Release != current {
			return p.Spec.Release, nil
		}
	}
	if version != "" {
		return "", fmt.Errorf("version %s was never verified in stage %s of %s", version, stage, app)
	}
	return "", fmt.Errorf("stage %s of %s has verified only %s, which it runs now", stage, app, verified[0].Annotations[ferryv1.AnnotationVersion])
}

func sameVersion(a, b string) bool {
	va, errA := semver.NewVersion(a)
	vb, errB := semver.NewVersion(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return va.Equal(vb)
}

// Later reports whether Promotion a finished after b. Times are kept to the second, so
// within the same second the higher version counts as the later one.
func Later(a, b *ferryv1.Promotion) bool {
	ta, tb := FinishedAt(a), FinishedAt(b)
	if !ta.Equal(&tb) {
		return tb.Before(&ta)
	}
	va, errA := semver.NewVersion(a.Annotations[ferryv1.AnnotationVersion])
	vb, errB := semver.NewVersion(b.Annotations[ferryv1.AnnotationVersion])
	return errA == nil && errB == nil && va.GreaterThan(vb)
}

// FinishedAt is when a Promotion's done checkpoint finished (zero before).
func FinishedAt(p *ferryv1.Promotion) metav1.Time {
	for _, c := range p.Status.Checkpoints {
		if c.Name == ferryv1.StepDone && c.FinishedAt != nil {
			return *c.FinishedAt
		}
	}
	return metav1.Time{}
}
