package controller

import (
	"strings"
	"testing"

	"ferry.dev/ferry/internal/cli/iostreams"
)

// TestNotifierFlags: sinks are checked before anything starts, and an error never
// repeats a sink's URL (it may hold a token).
func TestNotifierFlags(t *testing.T) {
	for _, c := range []struct {
		args  []string
		err   string
		sinks []string
	}{
		{[]string{"--event-sink", "audit=https://events.example.com/in?token=s3cret", "--event-sink", "ops=http://127.0.0.1:9/"}, "", []string{"audit", "ops"}},
		{[]string{"--event-sink", "audit=ftp://x?token=s3cret"}, `--event-sink "audit": expected NAME=http(s)://HOST/PATH`, nil},
		{[]string{"--event-sink", "https://events.example.com/?token=s3cret"}, `--event-sink: expected NAME=http(s)://HOST/PATH`, nil},
		{[]string{"--event-sink", "a=http://x/", "--event-sink", "a=http://y/"}, `--event-sink "a" is given twice`, nil},
		{[]string{"--slack-channel", "C1"}, "--slack-channel and --slack-token-secret go together", nil},
		{[]string{"--slack-channel", "C1", "--slack-token-secret", "ns/name"}, `--slack-token-secret "ns/name": expected NAMESPACE/NAME/KEY`, nil},
		{[]string{"--slack-channel", "C1", "--slack-token-secret", "ns/name/token", "--smtp-server", "127.0.0.1:25", "--mail-to", "a@b"}, "", []string{"slack", "email"}},
		{[]string{"--mail-to", "a@b"}, "--smtp-server and --mail-to go together", nil},
		{[]string{"--event-sink", "audit=http://127.0.0.1:9/", "--otlp-endpoint", "https://otlp.example.com:4318?token=s3cret"}, "", []string{"audit", "otlp"}},
		{[]string{"--otlp-endpoint", "otlp.example.com:4318/s3cret"}, "--otlp-endpoint: expected http(s)://HOST[:PORT][/PATH]", nil},
		{[]string{"--message-templates", "/nonexistent/messages.yaml"}, "--message-templates: open /nonexistent/messages.yaml: no such file or directory", nil},
	} {
		o := &options{s: iostreams.Streams{}}
		if err := newCommand(o).ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		err := o.validate()
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%v: %v", c.args, err)
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%v: %v, want %s", c.args, err, c.err)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("%v: the error shows the URL: %v", c.args, err)
		}
		if err != nil {
			continue
		}
		var names []string
		for _, s := range o.ctl.EventSinks {
			names = append(names, s.Name)
		}
		if strings.Join(names, ",") != strings.Join(c.sinks, ",") {
			t.Errorf("%v: sinks %v, want %v", c.args, names, c.sinks)
		}
	}
}
