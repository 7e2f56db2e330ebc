package devcluster

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// sysctls the node needs: routing between the bridge and the host, and bridged traffic
// seen by iptables so that a pod reaching a Service backed by a pod on the same bridge
// gets its reply translated back.
var sysctls = map[string]string{
	"net/ipv4/ip_forward":                 "1",
	"net/bridge/bridge-nf-call-iptables":  "1",
	"net/bridge/bridge-nf-call-ip6tables": "1",
}

// setupNetwork routes the Service and simulated pod CIDRs to the local table, creates the
// bridge with the node's address, and proves with `ip route get` that all three ranges
// stay on the machine. It runs before any component starts.
func (c Config) setupNetwork() error {
	if err := c.saveSysctls(); err != nil {
		return err
	}
	for key, val := range sysctls {
		if err := os.WriteFile(filepath.Join("/proc/sys", key), []byte(val), 0o644); err != nil {
			return fmt.Errorf("setting sysctl %s=%s: %w", strings.ReplaceAll(key, "/", "."), val, err)
		}
	}
	for _, p := range []netip.Prefix{c.ServiceCIDR, c.KwokCIDR} {
		if err := run("ip", "route", "replace", "local", p.String(), "dev", "lo", "table", "local"); err != nil {
			return err
		}
	}
	if err := c.ensureBridge(); err != nil {
		return err
	}
	return c.CheckRoutes()
}

func (c Config) ensureBridge() error {
	if err := run("ip", "link", "show", c.Bridge); err != nil {
		if err := run("ip", "link", "add", c.Bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	cidr := netip.PrefixFrom(c.NodeIP, c.PodCIDR.Bits()).String()
	out, err := output("ip", "-o", "addr", "show", "dev", c.Bridge)
	if err != nil {
		return err
	}
	if !strings.Contains(out, " "+cidr+" ") {
		if err := run("ip", "addr", "add", cidr, "dev", c.Bridge); err != nil {
			return err
		}
	}
	return run("ip", "link", "set", c.Bridge, "up")
}

// CheckRoutes asks the kernel where packets to the Service, simulated pod and pod CIDRs
// would go, and fails unless every one stays on this machine.
func (c Config) CheckRoutes() error {
	for _, p := range []netip.Prefix{c.ServiceCIDR, c.KwokCIDR} {
		probe := p.Addr().Next()
		out, err := output("ip", "route", "get", probe.String())
		if err != nil {
			return err
		}
		if !strings.HasPrefix(out, "local ") {
			return fmt.Errorf("a packet to %s (in %s) would leave the machine: ip route get says %q", probe, p, strings.TrimSpace(out))
		}
	}
	probe := c.NodeIP.Next()
	out, err := output("ip", "route", "get", probe.String())
	if err != nil {
		return err
	}
	if !strings.Contains(out, " dev "+c.Bridge+" ") {
		return fmt.Errorf("a packet to pod address %s would not go to bridge %s: ip route get says %q", probe, c.Bridge, strings.TrimSpace(out))
	}
	return nil
}

// teardownNetwork removes the routes, the bridge and the iptables chains the cluster
// made, and puts the sysctls back as they were.
func (c Config) teardownNetwork() error {
	var errs []string
	for _, p := range []netip.Prefix{c.ServiceCIDR, c.KwokCIDR} {
		if out, _ := output("ip", "route", "show", "table", "local", p.String()); strings.TrimSpace(out) != "" {
			if err := run("ip", "route", "del", "local", p.String(), "dev", "lo", "table", "local"); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if run("ip", "link", "show", c.Bridge) == nil {
		if err := run("ip", "link", "del", c.Bridge); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, tool := range []string{"iptables", "ip6tables"} {
		if err := removeChains(tool); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if err := c.restoreSysctls(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("network cleanup: %s", strings.Join(errs, "; "))
	}
	return nil
}

// ownedChain reports whether an iptables chain was made by the kubelet, kube-proxy or
// the CNI plugins.
func ownedChain(name string) bool {
	for _, prefix := range []string{"KUBE-", "CNI-", egressChain} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// egressChain drops forwarded pod traffic bound anywhere but the bridge: pods may talk to
// each other, to Services and to the host, and nothing of theirs leaves the machine.
const egressChain = "FERRY-DEV-EGRESS"

func (c Config) guardEgress() error {
	if run("iptables", "-w", "-S", egressChain) != nil {
		if err := run("iptables", "-w", "-N", egressChain); err != nil {
			return err
		}
	}
	if err := run("iptables", "-w", "-F", egressChain); err != nil {
		return err
	}
	if err := run("iptables", "-w", "-A", egressChain, "-s", c.PodCIDR.String(), "!", "-o", c.Bridge, "-j", "DROP"); err != nil {
		return err
	}
	if run("iptables", "-w", "-C", "FORWARD", "-j", egressChain) != nil {
		return run("iptables", "-w", "-I", "FORWARD", "1", "-j", egressChain)
	}
	return nil
}

// FilterRules drops from iptables-save output every chain the cluster owns and every
// rule in or jumping to one of them, leaving everything else as it was.
func FilterRules(save string) (kept string, changed bool) {
	var b strings.Builder
	for _, line := range strings.Split(save, "\n") {
		if drop := ownedRule(line); drop {
			changed = true
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n") + "\n", changed
}

func ownedRule(line string) bool {
	if strings.HasPrefix(line, ":") {
		name, _, _ := strings.Cut(line[1:], " ")
		return ownedChain(name)
	}
	if !strings.HasPrefix(line, "-A ") {
		return false
	}
	f := strings.Fields(line)
	if ownedChain(f[1]) {
		return true
	}
	for i := 2; i+1 < len(f); i++ {
		if (f[i] == "-j" || f[i] == "-g") && ownedChain(f[i+1]) {
			return true
		}
	}
	return false
}

func removeChains(tool string) error {
	if _, err := exec.LookPath(tool + "-save"); err != nil {
		return nil
	}
	for _, table := range []string{"filter", "nat", "mangle"} {
		save, err := output(tool+"-save", "-t", table)
		if err != nil {
			continue // table absent on this kernel
		}
		kept, changed := FilterRules(save)
		if !changed {
			continue
		}
		cmd := exec.Command(tool+"-restore", "-w")
		cmd.Stdin = strings.NewReader(kept)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s-restore of table %s: %w: %s", tool, table, err, out)
		}
	}
	return nil
}

func (c Config) sysctlFile() string { return filepath.Join(c.runDir(), "sysctl.before") }

// saveSysctls records the values before the first change, so down can restore them.
func (c Config) saveSysctls() error {
	if _, err := os.Stat(c.sysctlFile()); err == nil {
		return nil
	}
	var b strings.Builder
	for key := range sysctls {
		v, err := os.ReadFile(filepath.Join("/proc/sys", key))
		if err != nil {
			return fmt.Errorf("reading sysctl %s: %w", key, err)
		}
		fmt.Fprintf(&b, "%s=%s\n", key, strings.TrimSpace(string(v)))
	}
	if err := os.MkdirAll(c.runDir(), 0o755); err != nil {
		return err
	}
	return os.WriteFile(c.sysctlFile(), []byte(b.String()), 0o644)
}

func (c Config) restoreSysctls() error {
	b, err := os.ReadFile(c.sysctlFile())
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if err := os.WriteFile(filepath.Join("/proc/sys", key), []byte(val), 0o644); err != nil {
			return err
		}
	}
	return os.Remove(c.sysctlFile())
}

// run runs a command and returns its output in the error when it fails.
func run(name string, args ...string) error {
	_, err := output(name, args...)
	return err
}

func output(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
