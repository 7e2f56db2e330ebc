package devcluster

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// debianPackages maps a file each component needs to the Debian package that has it.
var debianPackages = []struct{ file, pkg string }{
	{"containerd", "containerd"},
	{"runc", "runc"},
	{"/usr/lib/cni/bridge", "containernetworking-plugins"},
	{"docker-registry", "docker-registry"},
	{"prometheus", "prometheus"},
	{"prometheus-alertmanager", "prometheus-alertmanager"},
	{"iptables", "iptables"},
	{"conntrack", "conntrack"},
	{"ip", "iproute2"},
	{"mount", "mount"},
	// An SMTP server on loopback for the tests of mail notifications.
	{"/usr/lib/python3/dist-packages/aiosmtpd/__init__.py", "python3-aiosmtpd"},
	// A headless browser for the tests of the web dashboard (internal/dashboard).
	{"chromium", "chromium"},
}

// missingPackages lists the Debian packages whose files are not on this machine.
func missingPackages() []string {
	var missing []string
	for _, p := range debianPackages {
		if strings.HasPrefix(p.file, "/") {
			if _, err := os.Stat(p.file); err == nil {
				continue
			}
		} else if _, err := exec.LookPath(p.file); err == nil {
			continue
		}
		missing = append(missing, p.pkg)
	}
	return missing
}

// EnsurePackages installs the Debian packages that are missing, with apt-get (as root):
// what `dev up` does first, and what the integration tests need before any cluster is
// up (the dashboard's tests run a headless chromium).
func (c Config) EnsurePackages() error { return c.ensurePackages() }

// ensurePackages installs what is missing with apt-get.
func (c Config) ensurePackages() error {
	missing := missingPackages()
	if len(missing) == 0 {
		return nil
	}
	c.logf("  installing Debian packages: %s", strings.Join(missing, " "))
	if err := run("apt-get", "update", "-qq"); err != nil {
		return err
	}
	args := append([]string{"install", "-y", "-qq", "--no-install-recommends"}, missing...)
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install %s: %w\n%s", strings.Join(missing, " "), err, lastLines(string(out), 20))
	}
	if still := missingPackages(); len(still) > 0 {
		return fmt.Errorf("packages still missing after apt-get: %s", strings.Join(still, " "))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
