package appfile

import (
	"strings"
	"testing"
)

func TestResolveFillsTemplates(t *testing.T) {
	file := valid + `  helm:
    values:
      env:
        VERSION: "{{ $.kitt.build.version }}"
        WHO: "{{$.ferry.build.artifact}} in {{ $.kitt.deploy.namespace }}"
        TESTS: "{{ $.kitt.build.docker.tests.image }}"
        HOST: "https://{{ $.kittExec.currentCluster.hosts[1] }}/"
`
	f, err := LoadBytes("ferry.yml", []byte(file), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := f.Resolve(TemplateContext{Version: "1.4.2", TestsImage: "reg/web-tests:1.4.2", Hosts: []string{"a.example", "b.example"}})
	if err != nil {
		t.Fatal(err)
	}
	env := app.Deploy.Helm.Values.Env
	want := map[string]string{"VERSION": "1.4.2", "WHO": "web in web", "TESTS": "reg/web-tests:1.4.2", "HOST": "https://b.example/"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	_, err = f.Resolve(TemplateContext{Version: "1", Hosts: []string{"only"}})
	if err == nil || !strings.Contains(err.Error(), `ferry.yml:15:15: deploy.helm.values.env.HOST: template "$.kittExec.currentCluster.hosts[1]": the cluster has 1 hosts`) {
		t.Fatalf("err = %v", err)
	}
}
