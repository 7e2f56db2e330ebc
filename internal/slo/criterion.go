package slo

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// criterion is one parsed criterion string such as "<=+10%".
type criterion struct {
	op       string
	value    float64
	relative bool // compared with earlier results, not with value itself
	percent  bool
	increase bool
}

// operators are tried in this order so "<=" is not read as "<" followed by "=5".
var operators = []string{"<=", "<", "=", ">=", ">"}

// parseCriterion reads a criterion the way Keptn does: spaces removed, then operator, an
// optional trailing "%", an optional sign. A "%" or a sign makes it relative, and an
// unsigned percentage means an increase.
func parseCriterion(s string) (criterion, error) {
	s = strings.ReplaceAll(s, " ", "")
	var c criterion
	for _, op := range operators {
		if rest, ok := strings.CutPrefix(s, op); ok {
			c.op, s = op, rest
			break
		}
	}
	if c.op == "" {
		return c, errors.New("no operator (one of <=, <, =, >=, >)")
	}
	if rest, ok := strings.CutSuffix(s, "%"); ok {
		c.percent, c.relative, c.increase, s = true, true, true, rest
	}
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		c.relative, c.increase, s = true, false, rest
	} else if rest, ok := strings.CutPrefix(s, "+"); ok {
		c.relative, c.increase, s = true, true, rest
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return c, fmt.Errorf("target %q is not a number", s)
	}
	c.value = v
	return c, nil
}

// target turns a relative criterion into an absolute threshold around the comparison value.
func (c criterion) target(comparison float64) float64 {
	switch {
	case c.percent && c.increase:
		return comparison * (100 + c.value) / 100
	case c.percent:
		return comparison * (100 - c.value) / 100
	case c.increase:
		return comparison + c.value
	default:
		return comparison - c.value
	}
}

// holds compares exactly, as Keptn does: "=" on a computed target rarely holds.
func holds(measured float64, op string, target float64) bool {
	switch op {
	case "<":
		return measured < target
	case "<=":
		return measured <= target
	case "=":
		return measured == target
	case ">=":
		return measured >= target
	default:
		return measured > target
	}
}

// aggregate computes the comparison value from earlier values (at least one). An unknown
// function gives 0, which is what Keptn compares against.
func aggregate(fn string, values []float64) float64 {
	switch fn {
	case "avg":
		sum := 0.0
		for _, v := range values {
			sum += v
		}
		return sum / float64(len(values))
	case "p50":
		return percentile(values, 0.5)
	case "p90":
		return percentile(values, 0.9)
	case "p95":
		return percentile(values, 0.95)
	default:
		return 0
	}
}

// percentile is Keptn's: position p·(n+1) in the sorted values, clamped to the ends and
// interpolated between neighbours (p90 of 0..10 is 9.8).
func percentile(values []float64, p float64) float64 {
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	n := len(v)
	pos := p * float64(n+1)
	switch {
	case pos < 1:
		return v[0]
	case pos >= float64(n):
		return v[n-1]
	}
	lower, upper := v[int(pos)-1], v[int(pos)]
	return lower + (pos-math.Floor(pos))*(upper-lower)
}
