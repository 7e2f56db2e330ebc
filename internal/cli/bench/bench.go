// Package bench implements `ferry bench engine`, `ferry bench canary` and `ferry bench
// argo-canary`: the delivery engine's figures on a running cluster with simulated nodes,
// and Argo Rollouts' own canary of the same shape to compare with (see package
// internal/bench).
package bench

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/bench"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/devcluster"
)

// NewCommand returns the bench verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure Ferry on a running cluster"}
	o := bench.Options{Out: s.Out}
	engine := &cobra.Command{
		Use:   "engine",
		Short: "Release-to-promotion latency, memory and idle CPU with many applications, and time over a bare rollout (needs simulated nodes: ferry dev up --kwok-nodes 6)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.FerryBin == "" {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				o.FerryBin = exe
			}
			return bench.Engine(c.Context(), o)
		},
	}
	f := engine.Flags()
	f.StringVar(&o.Kubeconfig, "kubeconfig", devcluster.DefaultConfig().AdminKubeconfig(), "kubeconfig of a cluster admin (default: the dev cluster's)")
	f.IntVar(&o.Apps, "apps", 1000, "applications of three stages in the scale run")
	f.IntVar(&o.LatencySamples, "latency-samples", 200, "releases timed for the latency")
	f.DurationVar(&o.IdleFor, "idle-for", 60*time.Second, "how long idle CPU is measured")
	co := bench.Options{Out: s.Out}
	canary := &cobra.Command{
		Use:   "canary",
		Short: "Time canary releases of five simulated pods (setWeight 20, pause 1s, setWeight 60, pause 1s) from Release to verified (needs simulated nodes: ferry dev up --kwok-nodes 1)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			co.FerryBin = exe
			return bench.Canary(c.Context(), co)
		},
	}
	canary.Flags().StringVar(&co.Kubeconfig, "kubeconfig", devcluster.DefaultConfig().AdminKubeconfig(), "kubeconfig of a cluster admin (default: the dev cluster's)")
	ao := bench.Options{Out: s.Out}
	argo := &cobra.Command{
		Use:   "argo-canary",
		Short: "Time Argo Rollouts' own canary of five simulated pods (the shape of bench canary, no traffic routing) from the Rollout's update to fully promoted; builds its controller on first use (needs simulated nodes: ferry dev up --kwok-nodes 1)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return bench.ArgoCanary(c.Context(), ao)
		},
	}
	argo.Flags().StringVar(&ao.Kubeconfig, "kubeconfig", devcluster.DefaultConfig().AdminKubeconfig(), "kubeconfig of a cluster admin (default: the dev cluster's)")
	cmd.AddCommand(engine, canary, argo)
	return cmd
}
