// Package amconfig turns prometheus-operator AlertmanagerConfig objects into one
// Alertmanager config file, as the operator does: each object becomes a route under the
// root route, matching only alerts of its own namespace and going on to the next route
// (continue), with its receivers named NAMESPACE/NAME/RECEIVER and their secrets (the
// Slack webhook URL) read from the object's namespace. Run watches the objects and their
// Secrets, rewrites the file when it changes and asks Alertmanager to reload.
//
// The dev cluster needs it because its Alertmanager is a plain process (Debian's), with
// no operator to do this. It knows the receivers Ferry renders and the common ones:
// Slack, email and webhook; inhibit rules and time intervals are not carried over.
package amconfig

import (
	"errors"
	"fmt"
	"net"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Global is what the Alertmanager of the dev cluster sets for every receiver: the mail
// relay and sender. The relay is on loopback and speaks plain SMTP, so TLS is not asked.
type Global struct {
	// SMTPSmarthost is the mail relay's host:port.
	SMTPSmarthost string
	// SMTPFrom is the sender of alert mail.
	SMTPFrom string
}

// Validate checks the settings once, before anything is written.
func (g Global) Validate() error {
	if _, _, err := net.SplitHostPort(g.SMTPSmarthost); err != nil {
		return fmt.Errorf("the SMTP smarthost %q is not host:port: %w", g.SMTPSmarthost, err)
	}
	if g.SMTPFrom == "" {
		return errors.New("the sender of alert mail is required")
	}
	return nil
}

// configFile holds the fields of an Alertmanager 0.25 config that this package writes,
// under Alertmanager's names.
type configFile struct {
	Global    globalConfig `json:"global"`
	Route     route        `json:"route"`
	Receivers []receiver   `json:"receivers"`
}

type globalConfig struct {
	SMTPSmarthost  string `json:"smtp_smarthost"`
	SMTPFrom       string `json:"smtp_from"`
	SMTPRequireTLS bool   `json:"smtp_require_tls"`
}

type route struct {
	Receiver       string   `json:"receiver,omitempty"`
	GroupBy        []string `json:"group_by,omitempty"`
	GroupWait      string   `json:"group_wait,omitempty"`
	GroupInterval  string   `json:"group_interval,omitempty"`
	RepeatInterval string   `json:"repeat_interval,omitempty"`
	Matchers       []string `json:"matchers,omitempty"`
	Continue       bool     `json:"continue,omitempty"`
	Routes         []route  `json:"routes,omitempty"`
}

type receiver struct {
	Name           string          `json:"name"`
	SlackConfigs   []slackConfig   `json:"slack_configs,omitempty"`
	EmailConfigs   []emailConfig   `json:"email_configs,omitempty"`
	WebhookConfigs []webhookConfig `json:"webhook_configs,omitempty"`
}

type slackConfig struct {
	SendResolved *bool  `json:"send_resolved,omitempty"`
	APIURL       string `json:"api_url"`
	Channel      string `json:"channel,omitempty"`
	Username     string `json:"username,omitempty"`
	Color        string `json:"color,omitempty"`
	Title        string `json:"title,omitempty"`
	TitleLink    string `json:"title_link,omitempty"`
	Pretext      string `json:"pretext,omitempty"`
	Text         string `json:"text,omitempty"`
	Fallback     string `json:"fallback,omitempty"`
	IconEmoji    string `json:"icon_emoji,omitempty"`
	IconURL      string `json:"icon_url,omitempty"`
}

type emailConfig struct {
	SendResolved *bool             `json:"send_resolved,omitempty"`
	To           string            `json:"to"`
	From         string            `json:"from,omitempty"`
	Smarthost    string            `json:"smarthost,omitempty"`
	Hello        string            `json:"hello,omitempty"`
	RequireTLS   *bool             `json:"require_tls,omitempty"`
	HTML         string            `json:"html,omitempty"`
	Text         string            `json:"text,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
}

type webhookConfig struct {
	SendResolved *bool  `json:"send_resolved,omitempty"`
	URL          string `json:"url"`
	MaxAlerts    int32  `json:"max_alerts,omitempty"`
}

// nullReceiver gets the alerts no AlertmanagerConfig routes: they are dropped, as with
// the operator's default config.
const nullReceiver = "null"

// SecretFunc returns the value of key in the Secret name of namespace.
type SecretFunc func(namespace, name, key string) (string, error)

// Build is the Alertmanager config of every object, in the operator's order (by
// namespace and name). An object that cannot be converted (an unknown receiver, a
// missing Secret) is left out, as the operator rejects it, and its error returned
// beside the config, so it does not hold back the others.
func Build(g Global, objs []*unstructured.Unstructured, secret SecretFunc) ([]byte, []error) {
	objs = append([]*unstructured.Unstructured(nil), objs...)
	sort.Slice(objs, func(i, j int) bool { return key(objs[i]) < key(objs[j]) })
	f := configFile{
		Global: globalConfig{SMTPSmarthost: g.SMTPSmarthost, SMTPFrom: g.SMTPFrom},
		// The dev cluster's root: alerts of one namespace grouped, sent soon after they
		// fire (a short first wait, so a test or a demo sees them quickly).
		Route:     route{Receiver: nullReceiver, GroupBy: []string{"namespace"}, GroupWait: "10s", GroupInterval: "1m", RepeatInterval: "4h"},
		Receivers: []receiver{{Name: nullReceiver}},
	}
	var errs []error
	for _, o := range objs {
		r, recv, err := convert(o, secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("alertmanagerconfig %s: %w", key(o), err))
			continue
		}
		if r != nil {
			f.Route.Routes = append(f.Route.Routes, *r)
			f.Receivers = append(f.Receivers, recv...)
		}
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		return nil, append(errs, err)
	}
	return b, errs
}

func key(o *unstructured.Unstructured) string { return o.GetNamespace() + "/" + o.GetName() }
