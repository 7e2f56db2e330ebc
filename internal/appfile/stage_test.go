package appfile

import (
	"strings"
	"testing"
)

func TestForStageNamespace(t *testing.T) {
	f, err := LoadBytes("ferry.yml", []byte(`build: {buildType: go, artifact: web}
deploy:
  namespace: web
  stages:
    - {name: dev, target: [{cluster_id: [a]}]}
    - {name: prod, namespace: web-prod, target: [{cluster_id: [a]}]}
`), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for stage, want := range map[string]string{"dev": "web", "prod": "web-prod", "nope": "web"} {
		if got := f.App.ForStage(stage).Deploy.Namespace; got != want {
			t.Errorf("%s: namespace %s, want %s", stage, got, want)
		}
	}
	if f.App.Deploy.Namespace != "web" {
		t.Errorf("ForStage changed the app: %s", f.App.Deploy.Namespace)
	}
	_, err = LoadBytes("ferry.yml", []byte(`build: {buildType: go, artifact: web}
deploy:
  namespace: web
  stages:
    - {name: dev, namespace: Web_Dev, target: [{cluster_id: [a]}]}
`), "", Options{})
	if err == nil || !strings.Contains(err.Error(), "deploy.stages[0].namespace") {
		t.Errorf("bad stage namespace: %v", err)
	}
}
