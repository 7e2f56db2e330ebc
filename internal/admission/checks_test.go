package admission

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

const goodFile = `build: {buildType: go, artifact: web}
deploy:
  namespace: web
  stages:
    - {name: dev, target: [{cluster_id: [local]}]}
`

func TestCheckPromotion(t *testing.T) {
	app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: ferryv1.ApplicationSpec{Stages: []ferryv1.StageSpec{{Name: "dev"}, {Name: "prod"}}}}
	rel := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "web-1-0-0"}, Spec: ferryv1.ReleaseSpec{Application: "web"}}
	other := &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "api-1-0-0"}, Spec: ferryv1.ReleaseSpec{Application: "api"}}
	prom := func(stage string) *ferryv1.Promotion {
		return &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: "team"}, Spec: ferryv1.PromotionSpec{Application: "web", Release: "web-1-0-0", Stage: stage}}
	}
	for _, c := range []struct {
		name string
		p    *ferryv1.Promotion
		app  *ferryv1.Application
		rel  *ferryv1.Release
		want string
	}{
		{"fine", prom("prod"), app, rel, ""},
		{"unknown stage", prom("qa"), app, rel, `spec.stage: application web has no stage "qa" (its stages: dev, prod)`},
		{"no application", prom("dev"), nil, rel, `spec.application: application "web" does not exist in namespace team`},
		{"no release", prom("dev"), app, nil, `spec.release: release "web-1-0-0" does not exist in namespace team`},
		{"another's release", prom("dev"), app, other, "spec.release: release api-1-0-0 belongs to application api, not web"},
	} {
		err := CheckPromotion(c.p, c.app, c.rel)
		if got := errText(err); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCheckRelease(t *testing.T) {
	app := &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	rel := func(file string) *ferryv1.Release {
		return &ferryv1.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "team"}, Spec: ferryv1.ReleaseSpec{Application: "web", AppFile: file}}
	}
	if err := CheckRelease(rel(goodFile), app); err != nil {
		t.Errorf("good release: %v", err)
	}
	if err := CheckRelease(rel(goodFile), nil); errText(err) != `spec.application: application "web" does not exist in namespace team` {
		t.Errorf("no application: %v", err)
	}
	err := CheckRelease(rel(strings.Replace(goodFile, "buildType: go", "buildType: rust", 1)), app)
	if err == nil || !strings.HasPrefix(err.Error(), "spec.appFile does not load: ") || !strings.Contains(err.Error(), "build.buildType") {
		t.Errorf("bad app file: %v", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
