package devcluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one long-running component: its command, its log file and its pid file.
type process struct {
	name string
	bin  string
	args []string
	env  []string
}

func (c Config) pidFile(name string) string { return filepath.Join(c.runDir(), name+".pid") }
func (c Config) logFile(name string) string { return filepath.Join(c.logDir(), name+".log") }

// start runs p in its own session so that it outlives `ferry dev up`, writing its output
// to its log file and its pid to its pid file. A process already running is left alone.
func (c Config) start(p process) (started bool, err error) {
	if pid, ok := c.running(p.name); ok {
		c.logf("  %s already running (pid %d)", p.name, pid)
		return false, nil
	}
	for _, d := range []string{c.logDir(), c.runDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return false, err
		}
	}
	logf, err := os.OpenFile(c.logFile(p.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, fmt.Errorf("opening log of %s: %w", p.name, err)
	}
	defer logf.Close()
	bin, err := resolveBinary(p.bin)
	if err != nil {
		return false, fmt.Errorf("starting %s: %w", p.name, err)
	}
	cmd := exec.Command(bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("starting %s: %w", p.name, err)
	}
	pid := cmd.Process.Pid
	// Release so the process is not reaped by us; it is tracked by its pid file.
	if err := cmd.Process.Release(); err != nil {
		return false, err
	}
	if err := os.WriteFile(c.pidFile(p.name), []byte(strconv.Itoa(pid)+"\n"+bin+"\n"), 0o644); err != nil {
		return false, fmt.Errorf("writing pid file of %s: %w", p.name, err)
	}
	c.logf("  started %s (pid %d)", p.name, pid)
	return true, nil
}

// resolveBinary finds bin on PATH and resolves symlinks, so that the pid file names the
// file /proc/PID/exe will show.
func resolveBinary(bin string) (string, error) {
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(p)
}

// running reports the pid of the named component if its pid file names a live process
// running the same binary (a reused pid is not ours).
func (c Config) running(name string) (int, bool) {
	b, err := os.ReadFile(c.pidFile(name))
	if err != nil {
		return 0, false
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	pid, err := strconv.Atoi(lines[0])
	if err != nil || pid <= 0 {
		return 0, false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return 0, false
	}
	if len(lines) > 1 && strings.TrimSuffix(exe, " (deleted)") != lines[1] {
		return 0, false
	}
	if isZombie(pid) {
		return 0, false
	}
	return pid, true
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}

// stop sends SIGTERM to the named component and its process group, waits up to grace,
// then kills what is left. It removes the pid file.
func (c Config) stop(name string, grace time.Duration) error {
	pid, ok := c.running(name)
	if !ok {
		_ = os.Remove(c.pidFile(name))
		return nil
	}
	killTree(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if _, alive := c.running(name); !alive {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, alive := c.running(name); alive {
		killTree(pid, syscall.SIGKILL)
		time.Sleep(200 * time.Millisecond)
	}
	if _, alive := c.running(name); alive {
		return fmt.Errorf("%s (pid %d) did not stop", name, pid)
	}
	c.logf("  stopped %s (pid %d)", name, pid)
	return os.Remove(c.pidFile(name))
}

// killTree signals pid and every descendant of it.
func killTree(pid int, sig syscall.Signal) {
	for _, p := range append(descendants(pid), pid) {
		_ = syscall.Kill(p, sig)
	}
}

// descendants lists the pids whose parent chain leads to pid, read from /proc.
func descendants(root int) []int {
	parents := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := parentOf(pid); ok {
			parents[pp] = append(parents[pp], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, child := range parents[p] {
			out = append(out, child)
			queue = append(queue, child)
		}
	}
	return out
}

func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(fields[1])
	return pp, err == nil
}

// pidsWithArg lists processes whose command line contains arg (the containerd shims
// name our containerd's socket, which is how they are found after they daemonise).
func pidsWithArg(arg string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		for _, a := range bytes.Split(b, []byte{0}) {
			if string(a) == arg {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// tail returns the last n lines of the named component's log, for error messages.
func (c Config) tail(name string, n int) string {
	f, err := os.Open(c.logFile(name))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// errNotReady says a component did not become ready, with the end of its log.
func (c Config) errNotReady(name string, timeout time.Duration, last error) error {
	return fmt.Errorf("%s did not become ready within %s (last check: %w); end of %s:\n%s",
		name, timeout, last, c.logFile(name), c.tail(name, 20))
}

// waitFor polls check until it succeeds, the process dies, or timeout passes.
func (c Config) waitFor(name string, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	last := errors.New("not checked")
	for time.Now().Before(deadline) {
		if last = check(); last == nil {
			return nil
		}
		if _, ok := c.running(name); !ok {
			return fmt.Errorf("%s exited; end of %s:\n%s", name, c.logFile(name), c.tail(name, 20))
		}
		time.Sleep(250 * time.Millisecond)
	}
	return c.errNotReady(name, timeout, last)
}

// treeRSS sums the resident memory of pid and its descendants (containerd's shims and
// the pods' processes are not its descendants: they are counted under "pods").
func treeRSS(pid int) int64 {
	var total int64
	for _, p := range append(descendants(pid), pid) {
		total += rss(p)
	}
	return total
}

// rss reads VmRSS from /proc/PID/status, in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb); err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}
