// Package initfile implements `ferry init`: write a commented starter ferry.yml.
package initfile

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/cli/iostreams"
)

//go:embed starter.yml
var starter string

type options struct {
	s        iostreams.Streams
	dir      string
	artifact string
	force    bool
}

// NewCommand returns the init verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a commented starter ferry.yml",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o.dir = "."
			if len(args) == 1 {
				o.dir = args[0]
			}
			return o.run()
		},
	}
	cmd.Flags().StringVar(&o.artifact, "artifact", "", "the application's name (default: the directory's name)")
	cmd.Flags().BoolVar(&o.force, "force", false, "overwrite an existing ferry.yml")
	return cmd
}

func (o *options) run() error {
	abs, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	name := o.artifact
	if name == "" {
		name = strings.ToLower(filepath.Base(abs))
	}
	path := filepath.Join(o.dir, "ferry.yml")
	if _, err := os.Stat(path); err == nil && !o.force {
		return errors.New(path + " exists (use --force to overwrite)")
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(starter, "ARTIFACT", name)), 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.s.Out, "wrote %s; check it with `ferry lint %s`\n", path, o.dir)
	return err
}
