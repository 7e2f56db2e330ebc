package judge

import (
	"math"
	"slices"
	"sort"
)

// sortedFinite returns the finite values of xs in ascending order and how many it dropped:
// NaN and ±Inf carry no rank information a judge can trust.
func sortedFinite(xs []float64) ([]float64, int) {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out, len(xs) - len(out)
}

// quantile is the linearly interpolated q-quantile of sorted data (NumPy's default), NaN
// when there is none.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := float64(len(sorted)-1) * q
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[lo]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// trimOutliers keeps the values of sorted data inside [Q1 − k·IQR, Q3 + k·IQR] and returns
// them (still sorted) with how many it removed. A negative k keeps everything.
func trimOutliers(sorted []float64, k float64) ([]float64, int) {
	if k < 0 || len(sorted) < 4 {
		return sorted, 0
	}
	q1, q3 := quantile(sorted, 0.25), quantile(sorted, 0.75)
	lo, hi := q1-k*(q3-q1), q3+k*(q3-q1)
	first := sort.SearchFloat64s(sorted, lo)
	end := sort.Search(len(sorted), func(i int) bool { return sorted[i] > hi })
	return sorted[first:end], len(sorted) - (end - first)
}

// relativeEffect is (canary − baseline) / |baseline|. With a zero baseline any change is
// infinitely large, and no change is none.
func relativeEffect(canary, baseline float64) float64 {
	if baseline == 0 {
		switch {
		case canary > 0:
			return math.Inf(1)
		case canary < 0:
			return math.Inf(-1)
		default:
			return 0
		}
	}
	return (canary - baseline) / math.Abs(baseline)
}
