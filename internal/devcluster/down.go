package devcluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopOrder stops the users of the node before the node, and the store last.
var stopOrder = []string{procTraefik, procKwok, procPrometheus, procAlertmanager, procAlertmanagerConfig, procRuleFiles, procKubeState, procPodTargets, procCoreDNS, procProxy, procScheduler, procCM, procKubelet}

// Down stops every process the cluster started, its pods included, unmounts what it
// mounted and removes its bridge, routes, iptables chains and state directory. Built
// binaries stay in the cache.
func Down(c Config) error {
	if err := requireRoot(); err != nil {
		return err
	}
	var errs []error
	for _, name := range stopOrder {
		errs = append(errs, c.stop(name, 10*time.Second))
	}
	sandboxes := c.sandboxIDs()
	errs = append(errs, c.killPods())
	for _, name := range []string{procContainerd, procRegistry, procAPIServer, procEtcd} {
		errs = append(errs, c.stop(name, 10*time.Second))
	}
	errs = append(errs, c.unmountAll(), c.teardownNetwork(), c.removeCNIResults(sandboxes))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dev down: %w", err)
	}
	if err := os.RemoveAll(c.StateDir); err != nil {
		return fmt.Errorf("dev down: removing %s: %w", c.StateDir, err)
	}
	// The parent exists only for us; removing it fails harmlessly if something else is there.
	_ = os.Remove(filepath.Dir(c.StateDir))
	c.logf("cluster down; %s removed, binaries kept in %s", c.StateDir, c.cache().BinDir())
	return nil
}

// killPods kills the containerd shims of this cluster and every process under them: the
// shims daemonise, so they are found by the containerd socket on their command line.
func (c Config) killPods() error {
	shims := pidsWithArg(c.containerdSocket())
	for _, pid := range shims {
		killTree(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if len(pidsWithArg(c.containerdSocket())) == 0 {
			if len(shims) > 0 {
				c.logf("  killed %d pod shims and their processes", len(shims))
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("pod shims still running: %v", pidsWithArg(c.containerdSocket()))
}

// unmountAll detaches every mount under the state directory, deepest first (container
// root filesystems, secret volumes, network namespaces).
func (c Config) unmountAll() error {
	mounts, err := mountsUnder(c.StateDir)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", m, err))
		}
	}
	if len(mounts) > 0 {
		c.logf("  unmounted %d mounts", len(mounts))
	}
	return errors.Join(errs...)
}

// MountsUnder lists mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// sandboxIDs lists the containers our containerd still runs, read from its state
// directory before the shims are killed.
func (c Config) sandboxIDs() []string {
	entries, _ := os.ReadDir(filepath.Join(c.runDir(), "containerd", "io.containerd.runtime.v2.task", "k8s.io"))
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Name())
	}
	return ids
}

// removeCNIResults deletes what containerd's CNI library caches outside our state
// directory: results for our network, and the loopback results of our sandboxes. The
// directories go too once empty.
func (c Config) removeCNIResults(sandboxes []string) error {
	const dir = "/var/lib/cni/results"
	matches, _ := filepath.Glob(filepath.Join(dir, "ferry-dev-*"))
	for _, id := range sandboxes {
		more, _ := filepath.Glob(filepath.Join(dir, "cni-loopback-"+id+"-*"))
		matches = append(matches, more...)
	}
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			return err
		}
	}
	_ = os.Remove(dir)
	_ = os.Remove(filepath.Dir(dir))
	return nil
}
