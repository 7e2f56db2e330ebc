// Package judge decides whether a canary behaves worse than its baseline: a Mann-Whitney U
// test per metric, an effect-size tolerance, outlier removal and a verdict that explains
// itself. It is a pure package with no I/O, so the controller and `ferry judge` share it.
package judge

import (
	"math"
	"slices"
)

// Alternative is the alternative hypothesis of a Mann-Whitney test, named as in SciPy.
type Alternative int

const (
	// TwoSided means the distributions of a and b differ.
	TwoSided Alternative = iota
	// Greater means a is stochastically greater than b.
	Greater
	// Less means a is stochastically less than b.
	Less
)

// String returns SciPy's name for the alternative.
func (a Alternative) String() string {
	switch a {
	case Greater:
		return "greater"
	case Less:
		return "less"
	default:
		return "two-sided"
	}
}

// Method chooses how the p-value is computed, as SciPy's `method` argument does.
type Method int

const (
	// Auto is SciPy's default: Exact when either sample has at most 8 values and no value
	// ties, Asymptotic otherwise.
	Auto Method = iota
	// Asymptotic is the normal approximation with tie and continuity corrections.
	Asymptotic
	// Exact is the exact null distribution of U; it assumes there are no ties.
	Exact
)

// exactMaxSize is SciPy's limit: both samples larger than this always use the normal approximation.
const exactMaxSize = 8

// MannWhitney returns the U statistic of a and the p-value of the test against alt, as
// scipy.stats.mannwhitneyu(a, b, alternative=alt) computes them with its defaults
// (method="auto", use_continuity=True). Neither input is modified; NaN values give NaN.
func MannWhitney(a, b []float64, alt Alternative) (u, p float64) {
	return MannWhitneyMethod(a, b, alt, Auto)
}

// MannWhitneyMethod is MannWhitney with the way of computing p chosen explicitly.
func MannWhitneyMethod(a, b []float64, alt Alternative, m Method) (u, p float64) {
	if slices.ContainsFunc(a, math.IsNaN) || slices.ContainsFunc(b, math.IsNaN) {
		return math.NaN(), math.NaN()
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	return mannWhitneySorted(sa, sb, alt, m)
}

// mannWhitneySorted is the test on two sorted samples; the judge sorts once and reuses the
// order for quartiles, medians and ranks.
func mannWhitneySorted(a, b []float64, alt Alternative, m Method) (u, p float64) {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return math.NaN(), math.NaN()
	}
	r1, tieTerm := rankSum(a, b)
	u1 := r1 - float64(n1)*float64(n1+1)/2
	u2 := float64(n1)*float64(n2) - u1
	// Like SciPy, test the upper tail of the statistic that grows under alt.
	stat, factor := u1, 1.0
	switch alt {
	case Less:
		stat = u2
	case TwoSided:
		stat, factor = math.Max(u1, u2), 2
	}
	if m == Auto {
		m = Asymptotic
		if (n1 <= exactMaxSize || n2 <= exactMaxSize) && tieTerm == 0 {
			m = Exact
		}
	}
	if m == Exact {
		p = exactSF(int(stat), n1, n2)
	} else {
		p = normalSF(zScore(stat, n1, n2, tieTerm))
	}
	return u1, math.Min(p*factor, 1)
}

// rankSum merges two sorted samples and returns the sum of a's ranks (ties get their
// average rank) and the tie term Σ(t³ − t) over groups of t equal values.
func rankSum(a, b []float64) (r1, tieTerm float64) {
	i, j := 0, 0
	next := 1.0 // rank of the next value in the merged order
	for i < len(a) || j < len(b) {
		v := math.Inf(1)
		if i < len(a) {
			v = a[i]
		}
		if j < len(b) && b[j] < v {
			v = b[j]
		}
		ca, cb := 0, 0
		for i < len(a) && a[i] == v {
			i, ca = i+1, ca+1
		}
		for j < len(b) && b[j] == v {
			j, cb = j+1, cb+1
		}
		t := float64(ca + cb)
		r1 += float64(ca) * (next + (t-1)/2)
		tieTerm += t*t*t - t
		next += t
	}
	return r1, tieTerm
}

// zScore standardises U with SciPy's tie correction and a continuity correction of 0.5.
func zScore(u float64, n1, n2 int, tieTerm float64) float64 {
	f1, f2 := float64(n1), float64(n2)
	n := f1 + f2
	s := math.Sqrt(f1 * f2 / 12 * ((n + 1) - tieTerm/(n*(n-1))))
	return (u - f1*f2/2 - 0.5) / s
}

// normalSF is the standard normal survival function P(Z > z).
func normalSF(z float64) float64 {
	return 0.5 * math.Erfc(z/math.Sqrt2)
}
