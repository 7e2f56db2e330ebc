package devcluster

import (
	"net/netip"
	"strings"
	"testing"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejectsUnsafeRanges(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"node IP outside pods", func(c *Config) { c.NodeIP = netip.MustParseAddr("10.250.0.1") }, "not inside the pod CIDR"},
		{"public service range", func(c *Config) { c.ServiceCIDR = netip.MustParsePrefix("8.8.0.0/16") }, "not a private range"},
		{"overlap", func(c *Config) { c.KwokCIDR = netip.MustParsePrefix("10.244.0.0/16") }, "overlaps the pod CIDR"},
		{"relative dir", func(c *Config) { c.StateDir = "state" }, "absolute"},
		{"negative kwok", func(c *Config) { c.KwokNodes = -1 }, "--kwok-nodes"},
		{"mail relay off the machine", func(c *Config) { c.AlertSMTPAddr = "192.0.2.1:25" }, "alert mail relay address"},
		{"Alertmanager on every interface", func(c *Config) { c.AlertmanagerAddr = "0.0.0.0:9093" }, "Alertmanager address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestServiceAddresses(t *testing.T) {
	c := DefaultConfig()
	if got := c.serviceIP(1).String(); got != "10.96.0.1" {
		t.Errorf("kubernetes Service IP = %s", got)
	}
	if got := c.DNSServiceIP().String(); got != "10.96.0.10" {
		t.Errorf("DNS Service IP = %s", got)
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/var/lib/a\040b`); got != "/var/lib/a b" {
		t.Fatalf("got %q", got)
	}
	if got := unescapeMount("/plain"); got != "/plain" {
		t.Fatalf("got %q", got)
	}
}
