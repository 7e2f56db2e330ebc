// Package e2ekit holds what the end-to-end test packages (test/e2e and test/e2e/alerts)
// each need around the dev cluster: the repository's root, a ferry binary built from it,
// the cluster's output in the test log, the components' logs kept for a failed run, and
// a bounded wait for a condition.
package e2ekit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry.dev/ferry/internal/devcluster"
)

// RepoRoot is the module root: the nearest directory above the test's own holding
// go.mod.
func RepoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// BuildFerry builds the ferry binary the cluster runs its helper processes with (a test
// binary cannot play that part).
func BuildFerry(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ferry")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ferry")
	cmd.Dir = RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building ferry: %v\n%s", err, out)
	}
	return bin
}

// LogWriter writes each line it is given to the test's log.
type LogWriter struct{ T *testing.T }

func (w LogWriter) Write(p []byte) (int, error) {
	w.T.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// SaveLogs copies the components' logs into artifacts/NAME for a failed run.
func SaveLogs(t *testing.T, cfg devcluster.Config, name string) {
	dst := filepath.Join(RepoRoot(t), "artifacts", name)
	_ = os.MkdirAll(dst, 0o755)
	out, err := exec.Command("cp", "-r", filepath.Join(cfg.StateDir, "logs")+"/.", dst).CombinedOutput()
	if err != nil {
		t.Logf("saving logs: %v %s", err, out)
		return
	}
	t.Logf("component logs saved in %s", dst)
}

// Eventually checks every half second until check passes, and fails the test with
// check's last error when timeout ends first.
func Eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		last := check()
		if last == nil {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout.Round(time.Second), last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// SMTP is Debian's aiosmtpd on a loopback port, keeping each mail in a Maildir; its
// Mailbox handler adds the envelope (X-MailFrom, X-RcptTo) to each mail's headers.
type SMTP struct {
	// Addr is where it listens; Dir is its Maildir.
	Addr, Dir string
}

// StartSMTP starts the SMTP server, waits until it answers, and stops it when the test
// ends.
func StartSMTP(t *testing.T) SMTP {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := SMTP{Addr: addr, Dir: filepath.Join(t.TempDir(), "mail")}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", addr, "-c", "aiosmtpd.handlers.Mailbox", s.Dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	Eventually(t, 15*time.Second, "the SMTP server answers on "+addr, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return fmt.Errorf("%w (its output: %s)", err, out.String())
		}
		return c.Close()
	})
	return s
}
