// Package version implements `ferry version`: the binary's version, commit and platform.
package version

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/buildinfo"
)

type options struct {
	out    io.Writer
	asJSON bool
}

// NewCommand returns the version verb.
func NewCommand(out io.Writer) *cobra.Command {
	o := &options{out: out}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this ferry binary",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return o.run() },
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print as JSON")
	return cmd
}

func (o *options) run() error {
	info := buildinfo.Get()
	if o.asJSON {
		enc := json.NewEncoder(o.out)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	commit := info.Commit
	if commit == "" {
		commit = "unknown"
	}
	_, err := fmt.Fprintf(o.out, "ferry %s (commit %s, %s, %s)\n", info.Version, commit, info.GoVersion, info.Platform)
	return err
}
