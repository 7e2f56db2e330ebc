// Package build implements `ferry build`, the builder a build Job runs: it checks out one
// commit of a git repository, builds the app's (and tests') images, pushes them, and
// leaves their digests in the pod's termination message for the controller to read.
package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/gitbuild"
)

// podTerminationLog is where Kubernetes reads a container's termination message.
const podTerminationLog = "/dev/termination-log"

type options struct {
	s              iostreams.Streams
	repo, commit   string
	build          gitbuild.Options
	version        string
	terminationLog string
	// checkoutOnly is where to check the commit out, building nothing (the first step
	// of a Dockerfile build, whose builder reads the checkout).
	checkoutOnly string
}

// NewCommand returns the build verb.
func NewCommand(s iostreams.Streams) *cobra.Command {
	o := &options{s: s}
	cmd := &cobra.Command{
		Use:   "build --repo URL --commit SHA (--package DIR --image REF [--tests-package DIR --tests-image REF] [--version V] | --checkout-only DIR)",
		Short: "Check out a commit, build its Go main package (and tests) into images and push them (what a build Job runs)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !c.Flags().Changed("termination-log") {
				o.terminationLog = writableFile(podTerminationLog)
			}
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.repo, "repo", "", "the git repository: a local path, file:// or http(s) URL (required)")
	f.StringVar(&o.commit, "commit", "", "the commit to build, a full or abbreviated SHA (required)")
	f.StringVar(&o.build.Package, "package", "", "the app's main package directory in the repository, such as examples/hello (required)")
	f.StringVar(&o.build.Image, "image", "", "where to push the app image, REGISTRY/APP:VERSION (required)")
	f.StringVar(&o.build.TestsPackage, "tests-package", "", "the tests' main package directory in the repository")
	f.StringVar(&o.build.TestsImage, "tests-image", "", "where to push the tests image")
	f.StringVar(&o.version, "version", "", "version stamped into both binaries (-X main.version=V)")
	f.StringVar(&o.checkoutOnly, "checkout-only", "", "only check the commit out into this directory and build nothing (for a Dockerfile builder that runs next)")
	f.StringVar(&o.terminationLog, "termination-log", "", "file the digests are written to as JSON (default "+podTerminationLog+" when it is writable; \"\" for none)")
	return cmd
}

func (o *options) validate() error {
	if o.checkoutOnly != "" {
		if o.repo == "" || o.commit == "" {
			return errors.New("--checkout-only needs --repo and --commit")
		}
		return nil
	}
	if o.repo == "" || o.commit == "" || o.build.Package == "" || o.build.Image == "" {
		return errors.New("--repo, --commit, --package and --image are required")
	}
	if (o.build.TestsPackage == "") != (o.build.TestsImage == "") {
		return errors.New("--tests-package and --tests-image go together")
	}
	if strings.ContainsFunc(o.version, func(r rune) bool { return r <= ' ' || r == '\'' || r == '"' }) {
		return fmt.Errorf("--version %q: spaces and quotes cannot go into a linker flag", o.version)
	}
	if o.version != "" {
		o.build.LDFlags = "-X main.version=" + o.version
	}
	return nil
}

func (o *options) run(ctx context.Context) error {
	start := time.Now()
	if o.checkoutOnly != "" {
		o.logf("checking out %s at %s into %s", o.repo, o.commit, o.checkoutOnly)
		if err := gitbuild.Checkout(ctx, o.repo, o.commit, o.checkoutOnly); err != nil {
			return err
		}
		o.logf("checked out in %s", time.Since(start).Round(100*time.Millisecond))
		return nil
	}
	dir, err := os.MkdirTemp("", "ferry-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	o.logf("checking out %s at %s", o.repo, o.commit)
	if err := gitbuild.Checkout(ctx, o.repo, o.commit, dir); err != nil {
		return err
	}
	o.build.Dir, o.build.Log = dir, o.logf
	res, err := gitbuild.Build(ctx, o.build)
	if err != nil {
		return firstLine(o.s.Out, err)
	}
	if o.terminationLog != "" {
		if err := writeResult(o.terminationLog, res); err != nil {
			return err
		}
		o.logf("wrote the digests to %s", o.terminationLog)
	}
	o.logf("done in %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func (o *options) logf(format string, args ...any) {
	fmt.Fprintf(o.s.Out, format+"\n", args...)
}

// firstLine prints the detail lines of an error (the compiler's output) to the build
// log and returns its first line, so the failure reads as one line at the log's end.
func firstLine(log io.Writer, err error) error {
	head, detail, ok := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	if !ok {
		return err
	}
	fmt.Fprintln(log, detail)
	return errors.New(head)
}

// writableFile returns path if it can be opened for writing, else "": outside a pod
// there is no termination log to write.
func writableFile(path string) string {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return ""
	}
	f.Close()
	return path
}

// writeResult writes the digests as the JSON the controller reads back from the pod's
// termination message.
func writeResult(path string, res gitbuild.Result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing the termination log: %w", err)
	}
	return nil
}
