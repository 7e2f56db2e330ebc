package slo

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteObjectives writes one line per objective, as people read an evaluation: the SLI
// (marked when key), its value, status and score, and each pass and warning criterion
// with the target it came to, crossed when it does not hold.
func WriteObjectives(out io.Writer, objectives []Objective) error {
	if len(objectives) == 0 {
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SLI\tVALUE\tSTATUS\tSCORE\tPASS\tWARNING")
	for _, o := range objectives {
		name := o.SLI
		if o.KeySLI {
			name += " (key)"
		}
		score := fmt.Sprintf("%g/%d", o.Score, o.Weight)
		if o.Status == StatusInfo {
			score = "-" // informational objectives are not scored
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", name, number(o.Value), o.Status, score,
			targets(o.PassTargets), targets(o.WarningTargets))
	}
	return w.Flush()
}

func number(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%g", *v)
}

// targets writes "<=+10% (550) ✗": the criterion, the threshold it came to, and a cross
// when it does not hold.
func targets(ts []Target) string {
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		p := t.Criterion
		if t.TargetValue != nil {
			p += fmt.Sprintf(" (%g)", *t.TargetValue)
		}
		if t.Violated {
			p += " ✗"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
