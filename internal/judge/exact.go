package judge

import "math"

// exactSF returns P(U ≥ u) under the null hypothesis for samples of sizes m and n without
// ties. The number of orderings giving U = k is the coefficient of q^k in the Gaussian
// binomial [m+n choose m]; by symmetry P(U ≥ u) = P(U ≤ mn − u), and the shorter of the two
// tails is summed so the small p-values that matter keep their precision.
func exactSF(u, m, n int) float64 {
	mn := m * n
	if u <= 0 {
		return 1
	}
	if u > mn {
		return 0
	}
	counts := gaussianBinomial(m, n)
	total := 0.0
	for _, c := range counts {
		total += c
	}
	if lower := mn - u; lower <= u-1 {
		return sumTo(counts, lower) / total
	}
	return 1 - sumTo(counts, u-1)/total
}

func sumTo(counts []float64, k int) float64 {
	s := 0.0
	for _, c := range counts[:k+1] {
		s += c
	}
	return s
}

// gaussianBinomial returns the coefficients of [m+n choose m] in q, built from the product
// Π_{i=1..m} (1 − q^{n+i}) / (1 − q^i). Dividing first keeps every intermediate value
// non-negative; the smaller size is used as m so there are fewer steps.
func gaussianBinomial(m, n int) []float64 {
	m, n = min(m, n), max(m, n)
	c := make([]float64, m*n+1)
	c[0] = 1
	for i := 1; i <= m; i++ {
		for k := i; k < len(c); k++ { // divide by (1 − q^i)
			c[k] += c[k-i]
		}
		for k := len(c) - 1; k >= n+i; k-- { // multiply by (1 − q^{n+i})
			c[k] -= c[k-n-i]
		}
	}
	for k := range c { // undo rounding below zero in the cancelled tail
		c[k] = math.Max(c[k], 0)
	}
	return c
}
