package dev

import (
	"fmt"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/devcluster"
)

// newPackages installs the Debian packages the cluster and the tests use, without
// starting anything: `make integration` runs it before the tests, since the dashboard's
// need a headless chromium before any cluster is up.
func newPackages(s iostreams.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "packages",
		Short: "Install the Debian packages the cluster and the tests need when any is missing (apt-get; root)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg := devcluster.DefaultConfig()
			cfg.Out = s.Out
			if err := cfg.EnsurePackages(); err != nil {
				return err
			}
			_, err := fmt.Fprintln(s.Out, "the Debian packages are installed")
			return err
		},
	}
}
