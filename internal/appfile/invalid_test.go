package appfile

import (
	"strings"
	"testing"
)

// valid is the smallest complete file; each case below breaks it in one way.
const valid = `owner: {group: team}
build: {buildType: go, artifact: web}
deploy:
  namespace: web
  stages:
    - name: dev
      flows: [release]
      target: [{cluster_id: [c1]}]
`

func TestInvalidFilesGiveExactMessages(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"misspelt key", strings.Replace(valid, "flows:", "flow:", 1),
			[]string{`ferry.yml:7:7: deploy.stages[0].flow: unknown field "flow" (did you mean "flows"?)`}}, // flows missing is fine; the stage still has its target

		{"unknown key without a near name", valid + "colour: blue\n",
			[]string{`ferry.yml:9:1: colour: unknown field "colour" (expected one of: profiles, owner, notify, alerts, build, deploy, stages)`}},
		{"cpuPercent out of range", valid + "  helm: {values: {scaling: {cpuPercent: 101}}}\n",
			[]string{`ferry.yml:9:41: deploy.helm.values.scaling.cpuPercent: 101 is out of range (expected 1 to 100)`}},
		{"cpuPercent as a string still checked", valid + "  helm: {values: {scaling: {cpuPercent: \"0\"}}}\n",
			[]string{`ferry.yml:9:41: deploy.helm.values.scaling.cpuPercent: 0 is out of range (expected 1 to 100)`}},
		{"scaling min above max", valid + "  helm: {values: {scaling: {min: 4, max: \"2\"}}}\n",
			[]string{`ferry.yml:9:34: deploy.helm.values.scaling.min: min 4 is above max 2`}},
		{"requests above limits", valid + "  helm: {values: {min: {memory: 2Gi}, max: {memory: 1Gi}}}\n",
			[]string{`ferry.yml:9:33: deploy.helm.values.min.memory: min 2Gi is above max 1Gi`}},
		{"bad quantity", valid + "  helm: {values: {max: {cpu: lots}}}\n",
			[]string{`ferry.yml:9:30: deploy.helm.values.max.cpu: "lots" is not a Kubernetes quantity (expected a value such as 500m, 2 or 256Mi)`}},
		{"bad cron", valid + "  helm: {values: {scaling: {cronscale: {scaleDown: {schedule: \"0 25 * * *\"}}}}}\n",
			[]string{`ferry.yml:9:63: deploy.helm.values.scaling.cronscale.scaleDown.schedule: "0 25 * * *" is not a cron schedule: end of range (25) above maximum (23): 25 (expected five fields such as "0 8 * * 1-5")`}},
		{"stage without target", strings.Replace(valid, "      target: [{cluster_id: [c1]}]\n", "", 1),
			[]string{`ferry.yml:6:7: deploy.stages[0]: stage "dev" has no target (expected target: [{cluster_id: [ID...]}])`}},
		{"quorum too large", valid + "      approvers: {groups: [a, b], quorum: 3}\n",
			[]string{`ferry.yml:9:43: deploy.stages[0].approvers.quorum: quorum 3 is more than the 2 approver group(s) can give (expected 1 to 2)`}},
		{"duplicate stage", valid + "    - {name: dev, target: [{cluster_id: [c2]}]}\n",
			[]string{`ferry.yml:9:14: deploy.stages[1].name: stage name "dev" is used twice (first at ferry.yml:6:13)`}},
		{"boolean that is not", valid + "  createChangeRecord: sometimes\n",
			[]string{`ferry.yml:9:23: deploy.createChangeRecord: "sometimes" is not a boolean (expected true or false)`}},
		{"list where a map belongs", strings.Replace(valid, "owner: {group: team}", "owner: [team]", 1),
			[]string{`ferry.yml:1:8: owner: expected a map of fields (group), got a list`}},
		{"unknown flow", strings.Replace(valid, "[release]", "[release, hotfix]", 1),
			[]string{`ferry.yml:7:24: deploy.stages[0].flows[1]: "hotfix" is not allowed (expected one of: release, pr, branch)`}},
		{"both stage lists", valid + "stages: [{name: qa, target: [{cluster_id: [c]}]}]\n",
			[]string{`ferry.yml:9:9: stages: stages are given both at the root and under deploy (expected one list, preferably deploy.stages)`}},
		{"unknown template", valid + "  helm: {values: {env: {V: \"{{ $.kitt.build.tag }}\"}}}\n",
			[]string{`ferry.yml:9:28: deploy.helm.values.env.V: unknown template value "$.kitt.build.tag" (expected one of: $.kitt.build.version, $.kitt.build.artifact, $.kitt.deploy.namespace, $.kitt.build.docker.tests.image, $.kittExec.currentCluster.hosts[N], or the same under $.ferry)`}},
		{"notify webhook that is not a URL", valid + "notify: {webhooks: [\"hooks.example.com/T0/s3cret\", \"secret:only-a-name\", \"secret:hooks/url\"]}\n",
			[]string{`ferry.yml:9:21: notify.webhooks[0]: expected an http(s) URL, or secret:NAME/KEY naming a Secret key that holds one`,
				`ferry.yml:9:52: notify.webhooks[1]: expected an http(s) URL, or secret:NAME/KEY naming a Secret key that holds one`}},
		{"hook with two kinds", valid + "  preDeploy: [{job: {name: j, image: i}, webhook: {url: http://x}}]\n",
			[]string{`ferry.yml:9:15: deploy.preDeploy[0]: a hook has exactly one of job, webhook, concord (found 2)`}},
		{"canary without steps", valid + "  releaseType: {strategy: canary}\n",
			[]string{`ferry.yml:9:16: deploy.releaseType.canary: a canary release needs canary.steps, or canary.interval with canary.increase`}},
		{"canary shorthand half given", valid + "  releaseType: {strategy: canary, canary: {interval: 30s}}\n",
			[]string{`ferry.yml:9:43: deploy.releaseType.canary: interval and increase go together (found only one)`}},
		{"canary analysis without templates", valid + "  releaseType: {strategy: canary, canary: {steps: [{analysis: {measurements: 0}}]}}\n",
			[]string{
				`ferry.yml:9:63: deploy.releaseType.canary.steps[0].analysis.templates: an analysis step names at least one AnalysisTemplate`,
				`ferry.yml:9:78: deploy.releaseType.canary.steps[0].analysis.measurements: 0 is out of range (expected 1 to 100)`}},
		{"background analysis without templates, from a step it lacks", valid + "  releaseType: {strategy: canary, canary: {steps: [{setWeight: 50}], analysis: {startingStep: 2}}}\n",
			[]string{
				`ferry.yml:9:80: deploy.releaseType.canary.analysis.templates: a background analysis names at least one AnalysisTemplate`,
				`ferry.yml:9:95: deploy.releaseType.canary.analysis.startingStep: 2 is not one of the canary's steps (expected 1 to 1)`}},
		{"background analysis of the shorthand", valid + "  releaseType: {strategy: canary, canary: {interval: 1m, increase: 30%, analysis: {templates: [t], startingStep: 7}}}\n",
			[]string{`ferry.yml:9:114: deploy.releaseType.canary.analysis.startingStep: 7 is not one of the canary's steps (expected 1 to 6)`}},
		{"canary analysis unknown inconclusive", valid + "  releaseType: {strategy: canary, canary: {steps: [{analysis: {templates: [t], inconclusive: pass}}]}}\n",
			[]string{`ferry.yml:9:94: deploy.releaseType.canary.steps[0].analysis.inconclusive: "pass" is not allowed (expected one of: fail, pause)`}},
		{"A/B test without its settings", valid + "  releaseType: {strategy: abTest}\n",
			[]string{`ferry.yml:9:16: deploy.releaseType.abTest: an A/B test needs abTest.header or abTest.cookie to mark requests`}},
		{"A/B test with a weight and a bad header", valid + "  releaseType: {strategy: abTest, abTest: {header: \"X Beta\", value: \"a;b\", steps: [{setWeight: 10}]}}\n",
			[]string{
				`ferry.yml:9:52: deploy.releaseType.abTest.header: "X Beta" is not a header name (expected letters, digits and !#$%&'*+.^_` + "`" + `|~-)`,
				`ferry.yml:9:69: deploy.releaseType.abTest.value: "a;b" cannot be matched in a header or a cookie (no spaces, quotes, commas or semicolons)`,
				`ferry.yml:9:96: deploy.releaseType.abTest.steps[0].setWeight: an A/B test routes by header or cookie, not by weight (expected pause or analysis)`}},
		{"syntax error", "owner: {group: team\nbuild: x\n",
			[]string{`ferry.yml:1:1: not valid YAML: did not find expected ',' or '}'`}},
		{"missing built-in profile", "profiles: [go-servce]\n" + valid,
			[]string{`ferry.yml:1:12: profiles[0]: no built-in profile "go-servce" (did you mean "go-service"? available: cron-scale, custom-scale-istio-http-requests, go-service, java-service, prod)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("ferry.yml", []byte(tt.file), t.TempDir(), Options{})
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestValidFileLoads(t *testing.T) {
	f, err := LoadBytes("ferry.yml", []byte(valid), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := f.App.AllStages(); len(st) != 1 || st[0].Target[0].ClusterID[0] != "c1" {
		t.Fatalf("stages %+v", st)
	}
}
