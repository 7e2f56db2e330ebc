package render

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"ferry.dev/ferry/internal/appfile"
)

// podMonitor is the prometheus-operator PodMonitor that scrapes the metrics endpoint,
// keeping only the whitelisted metrics and capping samples at remoteWriteSampleLimit.
func (p *plan) podMonitor() *unstructured.Unstructured {
	m := p.metrics()
	if m == nil {
		return nil
	}
	_, path := p.metricsEndpoint()
	endpoint := map[string]any{"port": "http", "path": path}
	if port, _ := p.metricsEndpoint(); port != p.port {
		endpoint = map[string]any{"targetPort": int64(port), "path": path}
	}
	if len(m.Whitelist) > 0 {
		quoted := make([]string, len(m.Whitelist))
		for i, w := range m.Whitelist {
			quoted[i] = regexp.QuoteMeta(w)
		}
		endpoint["metricRelabelings"] = []any{map[string]any{
			"action":       "keep",
			"sourceLabels": []any{"__name__"},
			"regex":        "(" + strings.Join(quoted, "|") + ")",
		}}
	}
	spec := map[string]any{
		"selector":            map[string]any{"matchLabels": toAny(p.selector())},
		"podMetricsEndpoints": []any{endpoint},
	}
	if m.RemoteWriteSampleLimit != nil {
		spec["sampleLimit"] = int64(*m.RemoteWriteSampleLimit)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": p.unstructuredMeta(), "spec": spec,
	}}
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ruleGroup is the default alert rules of one application in one namespace. They need
// kube-state-metrics in the target cluster.
func (p *plan) ruleGroup() map[string]any {
	sel := fmt.Sprintf(`namespace=%q,pod=~"%s-.*"`, p.namespace, regexp.QuoteMeta(p.name))
	dep := fmt.Sprintf(`namespace=%q,deployment=%q`, p.namespace, p.name)
	labels := map[string]any{"severity": "warning", "app": p.name, "stage": p.in.Stage}
	if a := p.alerts(); a != nil {
		if a.SlackChannel != "" {
			labels["slack_channel"] = a.SlackChannel
		}
		if len(a.Email) > 0 {
			labels["email"] = strings.Join(a.Email, ",")
		}
	}
	rule := func(name, expr, forDur, summary string) map[string]any {
		return map[string]any{
			"alert": name, "expr": expr, "for": forDur, "labels": labels,
			"annotations": map[string]any{"summary": summary},
		}
	}
	// Every alert keeps its namespace label: Alertmanager routes an AlertmanagerConfig's
	// alerts by it, so an aggregation that dropped it would send its alert nowhere.
	return map[string]any{
		"name": p.name + ".ferry.rules",
		"rules": []any{
			// kube-prometheus' KubePodCrashLooping: a container seen waiting in CrashLoopBackOff
			// at any point of the last 5 minutes, for a minute. The kubelet's growing back-off
			// makes the waiting state come and go; the max over the window holds it.
			rule(p.alertName("CrashLooping"), fmt.Sprintf(`max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff",%s}[5m]) >= 1`, sel), "1m",
				p.name+" container {{ $labels.container }} in {{ $labels.pod }} is crash looping"),
			rule(p.alertName("PodNotReady"), fmt.Sprintf(`sum by (namespace, pod) (kube_pod_status_ready{condition="false",%s}) > 0`, sel), "10m",
				p.name+" pod {{ $labels.pod }} has not been ready for 10 minutes"),
			rule(p.alertName("RolloutStuck"), fmt.Sprintf(`kube_deployment_status_condition{condition="Progressing",status="false",%s} == 1`, dep), "5m",
				p.name+" rollout has stopped progressing"),
			rule(p.alertName("OOMKilled"), fmt.Sprintf(`max by (namespace, pod, container) (kube_pod_container_status_last_terminated_reason{reason="OOMKilled",%s}) == 1`, sel), "0m",
				p.name+" container {{ $labels.container }} in {{ $labels.pod }} was killed for running out of memory"),
		},
	}
}

// alertName is the app's name in CamelCase followed by what happened.
func (p *plan) alertName(what string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(p.name, func(r rune) bool { return r == '-' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String() + what
}

// alerts are the stage's alert routes, or the application's.
func (p *plan) alerts() *appfile.Alerts {
	if p.stage.Alerts != nil {
		return p.stage.Alerts
	}
	return p.in.App.Alerts
}

// prometheusRule is the rule group as a prometheus-operator PrometheusRule.
func (p *plan) prometheusRule() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": p.unstructuredMeta(),
		"spec": map[string]any{"groups": []any{p.ruleGroup()}},
	}}
}

// The Secret, in the application's namespace, whose key holds the Slack incoming-webhook
// URL its alerts are posted to. The URL is a credential, so it never appears in the app
// file or in a rendered object; whoever runs the cluster creates the Secret once per
// namespace.
const (
	AlertsSecret         = "ferry-alerts"
	AlertsSecretSlackKey = "slack-webhook-url" //nolint:gosec // the name of a key, not its value
)

// alertmanagerConfig routes the app's alerts of this stage to its alert channels, as a
// prometheus-operator AlertmanagerConfig named like the PrometheusRule; nil when the app
// has no alert routes. The operator adds the namespace to the route's matchers.
func (p *plan) alertmanagerConfig() *unstructured.Unstructured {
	a := p.alerts()
	if a == nil || (a.SlackChannel == "" && len(a.Email) == 0) {
		return nil
	}
	var receivers, routes []any
	if a.SlackChannel != "" {
		receivers = append(receivers, map[string]any{"name": "slack", "slackConfigs": []any{map[string]any{
			"apiURL":       map[string]any{"name": AlertsSecret, "key": AlertsSecretSlackKey},
			"channel":      a.SlackChannel,
			"sendResolved": true,
			// Alertmanager's default text is empty: say which pod, as the rule's summary does.
			"text": `{{ range .Alerts }}{{ .Annotations.summary }}{{ "\n" }}{{ end }}`,
		}}})
	}
	if len(a.Email) > 0 {
		receivers = append(receivers, map[string]any{"name": "email", "emailConfigs": []any{map[string]any{
			"to": strings.Join(a.Email, ", "), "sendResolved": true,
		}}})
	}
	for i, r := range receivers {
		child := map[string]any{"receiver": r.(map[string]any)["name"]}
		if i < len(receivers)-1 {
			// The alert goes on to the next channel too.
			child["continue"] = true
		}
		routes = append(routes, child)
	}
	route := map[string]any{
		"receiver": routes[0].(map[string]any)["receiver"],
		"groupBy":  []any{"alertname"},
		"matchers": []any{
			map[string]any{"name": "app", "value": p.name, "matchType": "="},
			map[string]any{"name": "stage", "value": p.in.Stage, "matchType": "="},
		},
	}
	if len(routes) > 1 {
		route["routes"] = routes
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1alpha1", "kind": "AlertmanagerConfig", "metadata": p.unstructuredMeta(),
		"spec": map[string]any{"route": route, "receivers": receivers},
	}}
}

// RuleFile renders the default alert rules as a plain Prometheus rule file.
func RuleFile(in Input) ([]byte, error) {
	p, err := newPlan(in)
	if err != nil {
		return nil, err
	}
	return YAMLDoc(map[string]any{"groups": []any{p.ruleGroup()}})
}
