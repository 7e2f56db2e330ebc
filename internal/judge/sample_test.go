package judge

import (
	"math"
	"slices"
	"testing"
)

func TestQuantileMatchesNumPy(t *testing.T) {
	data := []float64{1, 2, 3, 4, 10}
	tests := []struct {
		q, want float64
	}{
		{0, 1}, {0.25, 2}, {0.5, 3}, {0.75, 4}, {1, 10}, {0.9, 7.6},
	}
	for _, tt := range tests {
		if got := quantile(data, tt.q); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("quantile of nothing = %v, want NaN", got)
	}
}

func TestTrimOutliers(t *testing.T) {
	tests := []struct {
		name        string
		data        []float64
		k           float64
		want        []float64
		wantRemoved int
	}{
		// Q1 = 2, Q3 = 4, IQR = 2: k = 3 keeps [-4, 10].
		{name: "far point removed", data: []float64{1, 2, 3, 4, 5, 100}, k: 3, want: []float64{1, 2, 3, 4, 5}, wantRemoved: 1},
		{name: "both sides", data: []float64{-100, 1, 2, 3, 4, 5, 100}, k: 3, want: []float64{1, 2, 3, 4, 5}, wantRemoved: 2},
		// Q1 = 3, Q3 = 4: the fence is 7, and a value on it stays.
		{name: "on the fence stays", data: []float64{2, 3, 3, 3, 4, 4, 4, 4, 7}, k: 3, want: []float64{2, 3, 3, 3, 4, 4, 4, 4, 7}},
		{name: "negative factor keeps all", data: []float64{1, 2, 3, 4, 5, 100}, k: -1, want: []float64{1, 2, 3, 4, 5, 100}},
		{name: "too few to judge", data: []float64{1, 2, 1000}, k: 3, want: []float64{1, 2, 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, removed := trimOutliers(tt.data, tt.k)
			if !slices.Equal(got, tt.want) || removed != tt.wantRemoved {
				t.Fatalf("got %v removed %d, want %v removed %d", got, removed, tt.want, tt.wantRemoved)
			}
		})
	}
}

func TestRelativeEffect(t *testing.T) {
	tests := []struct {
		canary, baseline, want float64
	}{
		{110, 100, 0.1}, {90, 100, -0.1}, {-90, -100, 0.1}, {0, 0, 0},
		{1, 0, math.Inf(1)}, {-1, 0, math.Inf(-1)},
	}
	for _, tt := range tests {
		if got := relativeEffect(tt.canary, tt.baseline); math.Abs(got-tt.want) > 1e-12 && got != tt.want {
			t.Errorf("relativeEffect(%v, %v) = %v, want %v", tt.canary, tt.baseline, got, tt.want)
		}
	}
}
