package amconfig

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var global = Global{SMTPSmarthost: "127.0.0.1:2525", SMTPFrom: "alertmanager@ferry-dev.localhost"}

// shopConfig is the AlertmanagerConfig Ferry renders for an app with a Slack channel and
// two mail addresses.
func shopConfig(namespace string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1alpha1", "kind": "AlertmanagerConfig",
		"metadata": map[string]any{"name": "shop", "namespace": namespace},
		"spec": map[string]any{
			"route": map[string]any{
				"receiver": "slack", "groupBy": []any{"alertname"},
				"matchers": []any{
					map[string]any{"name": "app", "value": "shop", "matchType": "="},
					map[string]any{"name": "stage", "value": "dev", "matchType": "="},
				},
				"routes": []any{
					map[string]any{"receiver": "slack", "continue": true},
					map[string]any{"receiver": "email"},
				},
			},
			"receivers": []any{
				map[string]any{"name": "slack", "slackConfigs": []any{map[string]any{
					"apiURL":  map[string]any{"name": "ferry-alerts", "key": "slack-webhook-url"},
					"channel": "shop-alerts", "sendResolved": true,
					"text": `{{ range .Alerts }}{{ .Annotations.summary }}{{ "\n" }}{{ end }}`,
				}}},
				map[string]any{"name": "email", "emailConfigs": []any{map[string]any{
					"to": "oncall@shop.test, sre@shop.test", "sendResolved": true,
				}}},
			},
		},
	}}
}

// secretsOf serves Secrets from a map keyed namespace/name/key.
func secretsOf(m map[string]string) SecretFunc {
	return func(namespace, name, key string) (string, error) {
		v, ok := m[namespace+"/"+name+"/"+key]
		if !ok {
			return "", fmt.Errorf("secret %q has no key %q", name, key)
		}
		return v, nil
	}
}

const wantShop = `global:
  smtp_from: alertmanager@ferry-dev.localhost
  smtp_require_tls: false
  smtp_smarthost: 127.0.0.1:2525
receivers:
- name: "null"
- name: shop/shop/slack
  slack_configs:
  - api_url: http://127.0.0.1:9/hooks/shop
    channel: shop-alerts
    send_resolved: true
    text: '{{ range .Alerts }}{{ .Annotations.summary }}{{ "\n" }}{{ end }}'
- email_configs:
  - send_resolved: true
    to: oncall@shop.test, sre@shop.test
  name: shop/shop/email
route:
  group_by:
  - namespace
  group_interval: 1m
  group_wait: 10s
  receiver: "null"
  repeat_interval: 4h
  routes:
  - continue: true
    group_by:
    - alertname
    matchers:
    - app="shop"
    - stage="dev"
    - namespace="shop"
    receiver: shop/shop/slack
    routes:
    - continue: true
      receiver: shop/shop/slack
    - receiver: shop/shop/email
`

func TestBuildRoutesEachObjectInItsNamespace(t *testing.T) {
	got, errs := Build(global, []*unstructured.Unstructured{shopConfig("shop")},
		secretsOf(map[string]string{"shop/ferry-alerts/slack-webhook-url": " http://127.0.0.1:9/hooks/shop\n"}))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if string(got) != wantShop {
		t.Fatalf("config:\n%s\nwant:\n%s", got, wantShop)
	}
	// The Alertmanager the dev cluster runs accepts it, where its amtool is installed.
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		t.Log("amtool not installed; the config is not checked by Alertmanager's own parser")
		return
	}
	file := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(file, got, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(amtool, "check-config", file).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
}

func TestBuildLeavesOutWhatItCannotConvert(t *testing.T) {
	const url = "https://hooks.slack.test/services/T0/B0/secret-token"
	pager := shopConfig("pager")
	receivers := pager.Object["spec"].(map[string]any)["receivers"].([]any)
	receivers[1].(map[string]any)["pagerdutyConfigs"] = []any{map[string]any{"url": "https://pd.test"}}
	noRoute := shopConfig("quiet")
	delete(noRoute.Object["spec"].(map[string]any), "route")
	cases := []struct {
		name    string
		obj     *unstructured.Unstructured
		secrets map[string]string
		wantErr string
	}{
		{"the Slack URL's Secret is missing", shopConfig("shop"), nil, `alertmanagerconfig shop/shop: receiver "slack": secret "ferry-alerts" has no key "slack-webhook-url"`},
		{"the Slack URL is no URL", shopConfig("shop"), map[string]string{"shop/ferry-alerts/slack-webhook-url": "hooks.slack.test " + url},
			`key "slack-webhook-url" of Secret "ferry-alerts" is not an http(s) URL`},
		{"a receiver the dev cluster cannot send to", pager, map[string]string{"pager/ferry-alerts/slack-webhook-url": url},
			`receiver "email": pagerdutyConfigs not supported`},
		{"no route", noRoute, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A good object beside the bad one keeps its route.
			good := shopConfig("good")
			secrets := map[string]string{"good/ferry-alerts/slack-webhook-url": "http://127.0.0.1:9/hooks/good"}
			for k, v := range c.secrets {
				secrets[k] = v
			}
			got, errs := Build(global, []*unstructured.Unstructured{c.obj, good}, secretsOf(secrets))
			switch {
			case c.wantErr == "" && len(errs) > 0:
				t.Fatalf("errors: %v", errs)
			case c.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), c.wantErr)):
				t.Fatalf("errors %v, want one with %q", errs, c.wantErr)
			}
			for _, err := range errs {
				if strings.Contains(err.Error(), "secret-token") {
					t.Errorf("the error shows the Slack URL: %v", err)
				}
			}
			if strings.Count(string(got), "matchers:") != 1 || !strings.Contains(string(got), `namespace="good"`) {
				t.Errorf("want only the good object's route:\n%s", got)
			}
			if strings.Contains(string(got), "name: "+c.obj.GetNamespace()+"/") {
				t.Errorf("the left-out object's receivers are in the config:\n%s", got)
			}
		})
	}
}

func TestMatcherString(t *testing.T) {
	cases := []struct {
		in   amMatcher
		want string
	}{
		{amMatcher{Name: "app", Value: "shop"}, `app="shop"`},
		{amMatcher{Name: "app", Value: "shop|cart", Regex: true}, `app=~"shop|cart"`},
		{amMatcher{Name: "stage", Value: "prod", MatchType: "!="}, `stage!="prod"`},
		{amMatcher{Name: "summary", Value: "a \"b\"\nc\\d", MatchType: "="}, `summary="a \"b\"\nc\\d"`},
	}
	for _, c := range cases {
		if got := matcherString(c.in); got != c.want {
			t.Errorf("matcherString(%+v) = %s, want %s", c.in, got, c.want)
		}
	}
}
