package bench

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Report holds the figures of one run.
type Report struct {
	// Latency is, per sample, Release created -> first Promotion started (sorted).
	Latency []time.Duration
	// FerryRollout and BareRollout are the times of the same Deployment change through
	// Ferry (Release created -> dev verified) and bare (update -> rollout complete).
	FerryRollout, BareRollout []time.Duration
	// Apps Applications of three stages: created in CreateTime, all verified in their
	// first stage AllVerified after the first was created.
	Apps                    int
	CreateTime, AllVerified time.Duration
	// RSS is the controller's resident memory and IdleCPU its cores used, when idle.
	RSS     int64
	IdleCPU float64
}

// Print writes the report.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nrelease created -> first promotion started: p50 %s  p99 %s  (%d samples)\n",
		pct(r.Latency, 50), pct(r.Latency, 99), len(r.Latency))
	ferry, bare := pct(r.FerryRollout, 50), pct(r.BareRollout, 50)
	fmt.Fprintf(w, "5-replica rollout on kwok, median of %d: ferry release -> verified %s, bare rollout %s, ferry adds %s\n",
		len(r.FerryRollout), ferry, bare, (ferry - bare).Round(time.Millisecond))
	fmt.Fprintf(w, "%d applications x 3 stages: created in %s, all first stages verified after %s\n",
		r.Apps, r.CreateTime.Round(time.Millisecond), r.AllVerified.Round(time.Millisecond))
	fmt.Fprintf(w, "controller idle: resident memory %.1f MiB, CPU %.4f cores\n", float64(r.RSS)/(1<<20), r.IdleCPU)
}

// pct is the p-th percentile of sorted durations (nearest rank).
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100
	return sorted[max(i-1, 0)].Round(time.Millisecond)
}

// rssBytes is a process's resident memory (VmRSS).
func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// cpuSeconds is a process's user plus system CPU time.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	const ticks = 100 // USER_HZ on Linux
	return (utime + stime) / ticks, nil
}

func tolerateKwok() []corev1.Toleration {
	return []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
}

func bareContainers() []corev1.Container {
	return []corev1.Container{{Name: "bare", Image: "127.0.0.1:5000/bench/bare:1.0.0"}}
}
