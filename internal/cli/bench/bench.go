// Package bench implements `ferry bench engine`, `ferry bench canary` and `ferry bench
// argo-canary`: the delivery engine's figures on a running cluster with simulated nodes,
// and Argo Rollouts' own canary of the same shape to compare with (see package
// internal/bench).
package bench

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/bench"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/devcluster"
)

// pprofUsage is the help of the verbs that start a Ferry controller of their own.
const pprofUsage = "serve the Go profiles of the Ferry controller under benchmark here (HOST:PORT; off when empty)"

// NewCommand returns the bench verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure Ferry on a running cluster"}
	engine, o := verb(s, "engine", "Release-to-promotion latency, memory and idle CPU with many applications, and time over a bare rollout (needs simulated nodes: ferry dev up --kwok-nodes 6)", bench.Engine)
	f := engine.Flags()
	f.IntVar(&o.Apps, "apps", 1000, "applications of three stages in the scale run")
	f.IntVar(&o.LatencySamples, "latency-samples", 200, "releases timed for the latency")
	f.DurationVar(&o.IdleFor, "idle-for", 60*time.Second, "how long idle CPU is measured")
	f.StringVar(&o.PprofAddr, "pprof-bind-address", "", pprofUsage)
	canary, co := verb(s, "canary", "Time canary releases of five simulated pods (setWeight 20, pause 1s, setWeight 60, pause 1s) from Release to verified (needs simulated nodes: ferry dev up --kwok-nodes 1)", bench.Canary)
	canary.Flags().StringVar(&co.PprofAddr, "pprof-bind-address", "", pprofUsage)
	argo, _ := verb(s, "argo-canary", "Time Argo Rollouts' own canary of five simulated pods (the shape of bench canary, no traffic routing) from the Rollout's update to fully promoted; builds its controller on first use (needs simulated nodes: ferry dev up --kwok-nodes 1)", bench.ArgoCanary)
	cmd.AddCommand(engine, canary, argo)
	return cmd
}

// verb is one benchmark with its --kubeconfig flag; it runs with this ferry binary as
// the controller it starts, and returns its options for more flags.
func verb(s iostreams.Streams, use, short string, run func(context.Context, bench.Options) error) (*cobra.Command, *bench.Options) {
	o := &bench.Options{Out: s.Out}
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			o.FerryBin = exe
			return run(c.Context(), *o)
		},
	}
	cmd.Flags().StringVar(&o.Kubeconfig, "kubeconfig", devcluster.DefaultConfig().AdminKubeconfig(), "kubeconfig of a cluster admin (default: the dev cluster's)")
	return cmd, o
}
