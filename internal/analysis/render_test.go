package analysis

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

func template(slis map[string]string, interval time.Duration) *ferryv1.AnalysisTemplate {
	return &ferryv1.AnalysisTemplate{Spec: ferryv1.AnalysisTemplateSpec{SLIs: slis, Interval: &metav1.Duration{Duration: interval}}}
}

var allVars = Vars{App: "shop", Namespace: "team-a", Stage: "prod", Version: "1.2.3",
	CanarySelector: `pod=~"shop-canary-.*"`, BaselineSelector: `pod=~"shop-stable-.*"`}

func TestRender(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		interval time.Duration // the template's
		vars     Vars
		want     string
		wantErr  string
	}{
		{name: "plain names",
			query: `sum(rate(http_requests_total{app="$app",namespace="$namespace",stage="$stage",version="$version"}[$interval]))`,
			want:  `sum(rate(http_requests_total{app="shop",namespace="team-a",stage="prod",version="1.2.3"}[1m]))`},
		{name: "braced name before identifier characters", query: `${app}_requests_total`, want: `shop_requests_total`},
		{name: "selectors", query: `up{$canarySelector} - up{$baselineSelector}`,
			want: `up{pod=~"shop-canary-.*"} - up{pod=~"shop-stable-.*"}`},
		{name: "interval from the template", query: `rate(x[$interval])`, interval: 90 * time.Second, want: `rate(x[1m30s])`},
		{name: "interval from vars wins", query: `rate(x[$interval])`, interval: time.Minute, vars: Vars{Interval: 5 * time.Minute}, want: `rate(x[5m])`},
		{name: "default interval", query: `rate(x[$interval])`, want: `rate(x[1m])`},
		{name: "regex anchor stays", query: `x{path=~"^/api$",a="$app"}`, want: `x{path=~"^/api$",a="shop"}`},
		{name: "trailing dollar stays", query: `x$`, want: `x$`},
		{name: "escaped dollar", query: `x{a="$$app"}`, want: `x{a="$app"}`},
		{name: "no placeholders", query: `vector(1)`, want: `vector(1)`},
		{name: "unknown variable", query: `x{a="$application"}`, wantErr: `SLI "errors": unknown variable $application (known: app, baselineSelector,`},
		{name: "name runs into identifier characters", query: `$app_total`, wantErr: `unknown variable $app_total`},
		{name: "unknown braced variable", query: `${cluster}`, wantErr: `SLI "errors": unknown variable $cluster`},
		{name: "unset variable", query: `x{v="$version"}`, vars: Vars{App: "shop"}, wantErr: `SLI "errors": the query uses $version, which is not set`},
		{name: "unclosed brace", query: `x{a="${app`, wantErr: `SLI "errors": unclosed ${ at byte 5`},
		{name: "brace closed too late", query: `x{a="${app"}`, wantErr: `SLI "errors": ${app"} at byte 5 is not a variable name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := tt.vars
			if vars == (Vars{}) || vars == (Vars{Interval: vars.Interval}) {
				interval := vars.Interval
				vars = allVars
				vars.Interval = interval
			}
			got, err := Render(template(map[string]string{"errors": tt.query}, tt.interval), vars)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got["errors"] != tt.want {
				t.Fatalf("rendered %q, want %q", got["errors"], tt.want)
			}
		})
	}
}

func TestRenderReportsEverySLI(t *testing.T) {
	tpl := template(map[string]string{"b": "$nope", "a": "$alsoNope", "ok": "up{app=\"$app\"}"}, 0)
	_, err := Render(tpl, allVars)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	ia, ib := strings.Index(msg, `SLI "a"`), strings.Index(msg, `SLI "b"`)
	if ia < 0 || ib < 0 || ia > ib || strings.Contains(msg, `"ok"`) {
		t.Fatalf("error %q should name a then b, and not ok", msg)
	}
}
