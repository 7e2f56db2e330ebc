package traffic

import (
	"encoding/json"
	"regexp"
	"testing"
)

func TestSteadyRoute(t *testing.T) {
	r := Route{Name: "hello", Namespace: "apps", Labels: map[string]string{"app": "hello"},
		Gateway: Gateway{Namespace: "gw", Name: "web", SectionName: "http"}, Hostnames: []string{"hello.apps.example.com"},
		Backends: []Backend{{Service: "hello", Port: 80, Weight: 1}}}
	got, err := json.Marshal(r.Object().Object)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"labels":{"app":"hello"},"name":"hello","namespace":"apps"},` +
		`"spec":{"hostnames":["hello.apps.example.com"],"parentRefs":[{"group":"gateway.networking.k8s.io","kind":"Gateway","name":"web","namespace":"gw","sectionName":"http"}],` +
		`"rules":[{"backendRefs":[{"kind":"Service","name":"hello","port":80,"weight":1}],"matches":[{"path":{"type":"PathPrefix","value":"/"}}]}]}}`
	if string(got) != want {
		t.Errorf("route:\n got %s\nwant %s", got, want)
	}
}

func TestABRules(t *testing.T) {
	stable := []Backend{{Service: "hello-stable", Port: 80, Weight: 100}, {Service: "hello-canary", Port: 80, Weight: 0}}
	canary := []Backend{{Service: "hello-canary", Port: 80, Weight: 1}}
	rules := Rules(stable, &Match{Header: "X-Canary", Cookie: "canary", Value: "always"}, canary)
	got, _ := json.Marshal(rules)
	want := `[{"backendRefs":[{"kind":"Service","name":"hello-canary","port":80,"weight":1}],"matches":[` +
		`{"headers":[{"name":"X-Canary","type":"Exact","value":"always"}],"path":{"type":"PathPrefix","value":"/"}},` +
		`{"headers":[{"name":"Cookie","type":"RegularExpression","value":"(^|;\\s*)canary=always(;|$)"}],"path":{"type":"PathPrefix","value":"/"}}]},` +
		`{"backendRefs":[{"kind":"Service","name":"hello-stable","port":80,"weight":100},{"kind":"Service","name":"hello-canary","port":80,"weight":0}],` +
		`"matches":[{"path":{"type":"PathPrefix","value":"/"}}]}]`
	if string(got) != want {
		t.Errorf("rules:\n got %s\nwant %s", got, want)
	}
	rules = Rules(stable, &Match{Header: "X-Canary"}, canary)
	got, _ = json.Marshal(rules)
	if !regexp.MustCompile(`"headers":\[\{"name":"X-Canary","type":"RegularExpression","value":"\.\+"\}\]`).Match(got) {
		t.Errorf("a header with any value: %s", got)
	}
}

func TestCookiePattern(t *testing.T) {
	anyValue := regexp.MustCompile(CookiePattern("canary", ""))
	always := regexp.MustCompile(CookiePattern("canary", "a.b"))
	for _, c := range []struct {
		header      string
		any, always bool
	}{
		{"canary=a.b", true, true},
		{"session=1; canary=a.b", true, true},
		{"session=1;canary=a.b; x=2", true, true},
		{"canary=axb", true, false},
		{"notcanary=a.b", false, false},
		{"canary=", false, false},
		{"session=canary=a.b", false, false},
		{"", false, false},
	} {
		if anyValue.MatchString(c.header) != c.any || always.MatchString(c.header) != c.always {
			t.Errorf("%q: any %v always %v, want %v %v", c.header, anyValue.MatchString(c.header), always.MatchString(c.header), c.any, c.always)
		}
	}
	if s := (Match{Cookie: "canary"}).String(); s != "cookie canary with any value" {
		t.Error(s)
	}
}

func TestWithRules(t *testing.T) {
	r := Route{Name: "hello", Namespace: "apps", Gateway: Gateway{Namespace: "gw", Name: "web"}, Backends: []Backend{{Service: "hello", Port: 80, Weight: 1}}}.Object()
	cp, err := WithRules(r, Rules([]Backend{{Service: "hello-stable", Port: 80, Weight: 80}, {Service: "hello-canary", Port: 80, Weight: 20}}, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(cp.Object["spec"])
	orig, _ := json.Marshal(r.Object["spec"])
	if !regexp.MustCompile(`"hello-canary","port":80,"weight":20`).Match(got) || regexp.MustCompile(`canary`).Match(orig) {
		t.Errorf("copy %s, original %s", got, orig)
	}
}
