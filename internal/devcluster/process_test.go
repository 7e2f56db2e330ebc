package devcluster

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func testConfig(t *testing.T) Config {
	t.Helper()
	c := DefaultConfig()
	c.StateDir = t.TempDir()
	c.CacheDir = t.TempDir()
	return c
}

func TestStartTracksAndStopsAProcess(t *testing.T) {
	c := testConfig(t)
	started, err := c.start(process{name: "sleeper", bin: "sh", args: []string{"-c", "echo hello-from-sleeper; sleep 30"}})
	if err != nil || !started {
		t.Fatalf("started=%v err=%v", started, err)
	}
	pid, ok := c.running("sleeper")
	if !ok {
		t.Fatal("not running after start")
	}
	// The output reaches the log file once the shell has run its echo.
	if err := c.waitFor("sleeper", 5*time.Second, func() error {
		if !strings.Contains(c.tail("sleeper", 5), "hello-from-sleeper") {
			return errors.New("no output yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A second start leaves the running process alone.
	if again, err := c.start(process{name: "sleeper", bin: "sh", args: []string{"-c", "sleep 30"}}); err != nil || again {
		t.Fatalf("second start: started=%v err=%v", again, err)
	}
	if err := c.stop("sleeper", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.running("sleeper"); ok {
		t.Fatalf("pid %d still running after stop", pid)
	}
}

func TestWaitForShowsTheLogOfAComponentThatNeverGetsReady(t *testing.T) {
	c := testConfig(t)
	if _, err := c.start(process{name: "slow", bin: "sh", args: []string{"-c", "echo listening-on-nothing; sleep 30"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.stop("slow", time.Second) })
	err := c.waitFor("slow", 700*time.Millisecond, func() error { return errors.New("connection refused") })
	if err == nil {
		t.Fatal("waitFor succeeded")
	}
	for _, want := range []string{"slow did not become ready within 700ms", "connection refused", "listening-on-nothing", c.logFile("slow")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestWaitForReportsACrash(t *testing.T) {
	c := testConfig(t)
	if _, err := c.start(process{name: "crasher", bin: "sh", args: []string{"-c", "echo fatal: bad flag --nope; exit 3"}}); err != nil {
		t.Fatal(err)
	}
	err := c.waitFor("crasher", 10*time.Second, func() error { return errors.New("not yet") })
	if err == nil || !strings.Contains(err.Error(), "crasher exited") || !strings.Contains(err.Error(), "fatal: bad flag --nope") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckPortsFreeNamesTheTakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := testConfig(t)
	c.RegistryAddr = l.Addr().String()
	err = c.checkPortsFree()
	if err == nil || !strings.Contains(err.Error(), l.Addr().String()) || !strings.Contains(err.Error(), "registry") {
		t.Fatalf("err = %v", err)
	}
}
