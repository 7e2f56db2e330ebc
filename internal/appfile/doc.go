// Package appfile reads an application's ferry.yml (or kitt.yml): it parses the file
// keeping every value's position, merges its profiles under it (built-in, local or from a
// git repository), checks every field against the vocabulary of DESIGN.md, and reports
// every problem at once as FILE:LINE:COL: field.path: what is wrong (expected ...).
//
// A loaded file remembers where each effective value came from, for `ferry render
// --explain`, and expands the {{ $.kitt.* }} / {{ $.ferry.* }} templates in its values.
package appfile
