// Package lint implements `ferry lint [FILE]`: load an app file with its profiles and
// print every problem, or say it is valid.
package lint

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/cli/iostreams"
)

// ErrInvalid is returned (exit code 1) when the file has problems; they are already printed.
var ErrInvalid = fmt.Errorf("the app file is not valid")

type options struct {
	s       iostreams.Streams
	path    string
	gitBase string
}

// NewCommand returns the lint verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s, gitBase: os.Getenv(appfile.GitBaseEnv)}
	cmd := &cobra.Command{
		Use:           "lint [FILE|DIR|-]",
		Short:         "Check an app file (ferry.yml or kitt.yml) and print every problem",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o.path = "."
			if len(args) == 1 {
				o.path = args[0]
			}
			return o.run()
		},
	}
	cmd.Flags().StringVar(&o.gitBase, "profiles-git-base", o.gitBase, "base URL of git:// profiles (env "+appfile.GitBaseEnv+")")
	return cmd
}

func (o *options) run() error {
	f, err := appfile.LoadFrom(o.path, o.s.In, appfile.Options{GitBase: o.gitBase})
	if err != nil {
		if probs := appfile.Problems(err); len(probs) > 0 {
			fmt.Fprintln(o.s.Err, probs.Error())
			fmt.Fprintf(o.s.Err, "%d problem(s)\n", len(probs))
			return ErrInvalid
		}
		return err
	}
	var names []string
	for _, s := range f.App.AllStages() {
		names = append(names, s.Name)
	}
	_, err = fmt.Fprintf(o.s.Out, "%s: valid (stages: %s)\n", f.Path, strings.Join(names, ", "))
	return err
}
