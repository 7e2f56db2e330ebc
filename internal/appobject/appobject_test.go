package appobject

import (
	"testing"

	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/controller/application"
)

func TestBuildFromHello(t *testing.T) {
	f, err := appfile.Load("../../examples/hello", appfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := Build(f, "team-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if app.Name != "hello" || app.Namespace != "team-a" || len(app.Spec.Stages) != 3 {
		t.Fatalf("got %s/%s with %d stages", app.Namespace, app.Name, len(app.Spec.Stages))
	}
	prod := app.Spec.Stages[2]
	if prod.Name != "prod" || prod.ApproverGroups[0] != "hello-approvers" || prod.Clusters[0] != "dev-local" {
		t.Errorf("prod stage %+v", prod)
	}
	// The stored app file stands alone (profiles merged in) and passes the controller's check.
	if problems := application.Check(app); len(problems) > 0 {
		t.Fatalf("controller finds problems: %v", problems)
	}
	reloaded, err := appfile.LoadBytes("appFile", []byte(app.Spec.AppFile), "", appfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, v, _ := reloaded.App.Stage("dev"); v.Scaling == nil || *v.Scaling.CPUPercent != 70 {
		t.Errorf("the go-service profile's scaling did not survive the merge: %+v", v.Scaling)
	}
}
