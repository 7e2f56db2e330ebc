// Package iostreams holds the standard streams every CLI verb reads and writes, so verbs
// can be run and tested without a terminal.
package iostreams

import "io"

// Streams are a verb's input, output and error streams.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}
