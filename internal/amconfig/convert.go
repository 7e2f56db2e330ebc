package amconfig

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// spec holds the fields of an AlertmanagerConfig (monitoring.coreos.com/v1alpha1) that
// are carried over, under the CRD's names.
type spec struct {
	Route     *amRoute     `json:"route"`
	Receivers []amReceiver `json:"receivers"`
}

type amRoute struct {
	Receiver       string      `json:"receiver"`
	GroupBy        []string    `json:"groupBy"`
	GroupWait      string      `json:"groupWait"`
	GroupInterval  string      `json:"groupInterval"`
	RepeatInterval string      `json:"repeatInterval"`
	Matchers       []amMatcher `json:"matchers"`
	Continue       bool        `json:"continue"`
	Routes         []amRoute   `json:"routes"`
}

type amMatcher struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	MatchType string `json:"matchType"`
	Regex     bool   `json:"regex"`
}

type amReceiver struct {
	Name           string      `json:"name"`
	SlackConfigs   []amSlack   `json:"slackConfigs"`
	EmailConfigs   []amEmail   `json:"emailConfigs"`
	WebhookConfigs []amWebhook `json:"webhookConfigs"`
}

type secretKey struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type amSlack struct {
	APIURL       *secretKey `json:"apiURL"`
	SendResolved *bool      `json:"sendResolved"`
	Channel      string     `json:"channel"`
	Username     string     `json:"username"`
	Color        string     `json:"color"`
	Title        string     `json:"title"`
	TitleLink    string     `json:"titleLink"`
	Pretext      string     `json:"pretext"`
	Text         string     `json:"text"`
	Fallback     string     `json:"fallback"`
	IconEmoji    string     `json:"iconEmoji"`
	IconURL      string     `json:"iconURL"`
}

type amEmail struct {
	SendResolved *bool  `json:"sendResolved"`
	To           string `json:"to"`
	From         string `json:"from"`
	Smarthost    string `json:"smarthost"`
	Hello        string `json:"hello"`
	RequireTLS   *bool  `json:"requireTLS"`
	HTML         string `json:"html"`
	Text         string `json:"text"`
	Headers      []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"headers"`
}

type amWebhook struct {
	SendResolved *bool      `json:"sendResolved"`
	URL          string     `json:"url"`
	URLSecret    *secretKey `json:"urlSecret"`
	MaxAlerts    int32      `json:"maxAlerts"`
}

// knownReceiverFields are the receiver fields carried over; a receiver with any other
// (PagerDuty, OpsGenie...) is refused rather than half delivered.
var knownReceiverFields = map[string]bool{"name": true, "slackConfigs": true, "emailConfigs": true, "webhookConfigs": true}

// convert is the route and receivers of one object; a nil route when it has none (the
// operator then ignores its receivers too).
func convert(o *unstructured.Unstructured, secret SecretFunc) (*route, []receiver, error) {
	raw, _, err := unstructured.NestedMap(o.Object, "spec")
	if err != nil {
		return nil, nil, err
	}
	if err := checkReceivers(raw); err != nil {
		return nil, nil, err
	}
	var s spec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &s); err != nil {
		return nil, nil, err
	}
	if s.Route == nil {
		return nil, nil, nil
	}
	if s.Route.Receiver == "" {
		return nil, nil, fmt.Errorf("the route names no receiver")
	}
	prefix := o.GetNamespace() + "/" + o.GetName() + "/"
	r := convertRoute(*s.Route, prefix)
	// As the operator does: the object's route sees only its namespace's alerts, and
	// lets them go on to the other objects' routes.
	r.Matchers = append(r.Matchers, matcherString(amMatcher{Name: "namespace", Value: o.GetNamespace(), MatchType: "="}))
	r.Continue = true
	var out []receiver
	for _, in := range s.Receivers {
		recv, err := convertReceiver(in, prefix, func(k secretKey) (string, error) { return secret(o.GetNamespace(), k.Name, k.Key) })
		if err != nil {
			return nil, nil, fmt.Errorf("receiver %q: %w", in.Name, err)
		}
		out = append(out, recv)
	}
	return &r, out, nil
}

func checkReceivers(raw map[string]any) error {
	list, _, _ := unstructured.NestedSlice(raw, "receivers")
	for _, item := range list {
		m, _ := item.(map[string]any)
		var unknown []string
		for k := range m {
			if !knownReceiverFields[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return fmt.Errorf("receiver %q: %s not supported by the dev cluster's Alertmanager (slackConfigs, emailConfigs and webhookConfigs are)", m["name"], strings.Join(unknown, ", "))
		}
	}
	return nil
}

func convertRoute(in amRoute, prefix string) route {
	out := route{GroupBy: in.GroupBy, GroupWait: in.GroupWait, GroupInterval: in.GroupInterval,
		RepeatInterval: in.RepeatInterval, Continue: in.Continue}
	if in.Receiver != "" {
		out.Receiver = prefix + in.Receiver
	}
	for _, m := range in.Matchers {
		out.Matchers = append(out.Matchers, matcherString(m))
	}
	for _, child := range in.Routes {
		out.Routes = append(out.Routes, convertRoute(child, prefix))
	}
	return out
}

// matcherString writes a matcher as Alertmanager reads it, as the operator does: an
// unset match type is = (or =~ for the deprecated regex flag), the value quoted.
func matcherString(m amMatcher) string {
	op := m.MatchType
	if op == "" {
		op = "="
		if m.Regex {
			op = "=~"
		}
	}
	esc := strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	return m.Name + op + `"` + esc.Replace(m.Value) + `"`
}

func convertReceiver(in amReceiver, prefix string, secret func(secretKey) (string, error)) (receiver, error) {
	out := receiver{Name: prefix + in.Name}
	for _, s := range in.SlackConfigs {
		c := slackConfig{SendResolved: s.SendResolved, Channel: s.Channel, Username: s.Username, Color: s.Color,
			Title: s.Title, TitleLink: s.TitleLink, Pretext: s.Pretext, Text: s.Text, Fallback: s.Fallback,
			IconEmoji: s.IconEmoji, IconURL: s.IconURL}
		if s.APIURL == nil {
			return out, fmt.Errorf("a Slack config has no apiURL (the dev cluster sets no global Slack URL)")
		}
		u, err := secretURL(*s.APIURL, secret)
		if err != nil {
			return out, err
		}
		c.APIURL = u
		out.SlackConfigs = append(out.SlackConfigs, c)
	}
	for _, e := range in.EmailConfigs {
		if e.To == "" {
			return out, fmt.Errorf("an email config has no 'to' address")
		}
		c := emailConfig{SendResolved: e.SendResolved, To: e.To, From: e.From, Smarthost: e.Smarthost, Hello: e.Hello,
			RequireTLS: e.RequireTLS, HTML: e.HTML, Text: e.Text}
		for _, h := range e.Headers {
			if c.Headers == nil {
				c.Headers = map[string]string{}
			}
			c.Headers[h.Key] = h.Value
		}
		out.EmailConfigs = append(out.EmailConfigs, c)
	}
	for _, w := range in.WebhookConfigs {
		c := webhookConfig{SendResolved: w.SendResolved, URL: w.URL, MaxAlerts: w.MaxAlerts}
		if w.URLSecret != nil {
			u, err := secretURL(*w.URLSecret, secret)
			if err != nil {
				return out, err
			}
			c.URL = u
		}
		if c.URL == "" {
			return out, fmt.Errorf("a webhook config has neither url nor urlSecret")
		}
		out.WebhookConfigs = append(out.WebhookConfigs, c)
	}
	return out, nil
}

// secretURL reads a URL from a Secret and checks it, as the operator does, so that one
// bad URL fails this object and not Alertmanager's whole reload. The URL itself is a
// credential: errors name the Secret and key, never the value.
func secretURL(k secretKey, secret func(secretKey) (string, error)) (string, error) {
	v, err := secret(k)
	if err != nil {
		return "", err
	}
	v = strings.TrimSpace(v)
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("key %q of Secret %q is not an http(s) URL", k.Key, k.Name)
	}
	return v, nil
}
