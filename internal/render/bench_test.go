package render

import (
	"context"
	"testing"

	"ferry.dev/ferry/internal/appfile"
)

// benchFile merges five profiles under a file with three stages.
const benchFile = `profiles: [go-service, prod, cron-scale, custom-scale-istio-http-requests, java-service]
owner: {group: team}
build: {buildType: go, artifact: web}
deploy:
  namespace: web
  helm:
    values:
      env: {A: "1", B: "{{ $.kitt.build.version }}"}
  stages:
    - {name: dev, flows: [release], target: [{cluster_id: [a]}]}
    - {name: stage, flows: [release], target: [{cluster_id: [b]}]}
    - {name: prod, flows: [release], target: [{cluster_id: [c]}], helm: {values: {scaling: {min: 5}}}}
`

// BenchmarkLoadMergeRender measures what `ferry render` does for one stage: parse the
// file, merge five profiles, check it, fill templates and render the objects as YAML.
func BenchmarkLoadMergeRender(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		f, err := appfile.LoadBytes("ferry.yml", []byte(benchFile), dir, appfile.Options{})
		if err != nil {
			b.Fatal(err)
		}
		app, err := f.Resolve(appfile.TemplateContext{Version: "1.0.0", Hosts: []string{"apps.example.com"}})
		if err != nil {
			b.Fatal(err)
		}
		objs, err := Objects(context.Background(), Input{App: app, Stage: "prod", Version: "1.0.0", Cluster: Cluster{Hosts: []string{"apps.example.com"}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := YAML(objs); err != nil {
			b.Fatal(err)
		}
	}
}
