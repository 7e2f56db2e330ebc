// Package startup keeps the garbage collector off while the linked libraries initialise
// (the Kubernetes client's scheme, Helm's JSON-schema meta-schemas), which otherwise
// costs a short CLI run like `ferry lint` about a quarter of its wall time; main turns it
// back on first thing.
//
// It depends on nothing but runtime/debug, and Go initialises ready packages in import
// path order, so it runs before the heavy initialisers under github.com, k8s.io, helm.sh.
package startup

import "runtime/debug"

// gcPercent is the setting before startup (GOGC, or 100).
var gcPercent = debug.SetGCPercent(-1)

// Done restores the garbage collector as GOGC configures it.
func Done() { debug.SetGCPercent(gcPercent) }
