package judge

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// reference is testdata/reference.json, written by testdata/reference.py with SciPy.
type reference struct {
	SciPy   string `json:"scipy"`
	Samples map[string]struct {
		X []float64 `json:"x"`
		Y []float64 `json:"y"`
	} `json:"samples"`
	Cases []struct {
		Name        string  `json:"name"`
		Samples     string  `json:"samples"`
		Alternative string  `json:"alternative"`
		Method      string  `json:"method"`
		U           float64 `json:"u"`
		P           float64 `json:"p"`
	} `json:"cases"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	data, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 30 {
		t.Fatalf("reference.json has %d cases, want at least 30", len(ref.Cases))
	}
	return ref
}

// TestMannWhitneyMatchesSciPy compares U exactly and p within 1e-9 relative (or 1e-15
// absolute, for p-values near zero) with scipy.stats.mannwhitneyu.
func TestMannWhitneyMatchesSciPy(t *testing.T) {
	ref := loadReference(t)
	alts := map[string]Alternative{"two-sided": TwoSided, "greater": Greater, "less": Less}
	methods := map[string]Method{"auto": Auto, "asymptotic": Asymptotic, "exact": Exact}
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			s, ok := ref.Samples[c.Samples]
			if !ok {
				t.Fatalf("no samples %q", c.Samples)
			}
			u, p := MannWhitneyMethod(s.X, s.Y, alts[c.Alternative], methods[c.Method])
			if u != c.U {
				t.Errorf("U = %v, SciPy %s says %v", u, ref.SciPy, c.U)
			}
			if diff := math.Abs(p - c.P); diff > 1e-9*math.Abs(c.P) && diff > 1e-15 {
				t.Errorf("p = %.17g, SciPy %s says %.17g (relative error %.3g)", p, ref.SciPy, c.P, diff/c.P)
			}
		})
	}
}

func TestMannWhitneyEdges(t *testing.T) {
	tests := []struct {
		name    string
		a, b    []float64
		wantU   float64
		wantP   float64
		wantNaN bool
	}{
		{name: "empty canary", a: nil, b: []float64{1, 2}, wantNaN: true},
		{name: "NaN value", a: []float64{1, math.NaN()}, b: []float64{1, 2}, wantNaN: true},
		{name: "one each, no tie (exact)", a: []float64{2}, b: []float64{1}, wantU: 1, wantP: 1},
		{name: "one each, tied", a: []float64{1}, b: []float64{1}, wantU: 0.5, wantP: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, p := MannWhitney(tt.a, tt.b, TwoSided)
			if tt.wantNaN {
				if !math.IsNaN(u) || !math.IsNaN(p) {
					t.Fatalf("got U=%v p=%v, want NaN", u, p)
				}
				return
			}
			if u != tt.wantU || p != tt.wantP {
				t.Fatalf("got U=%v p=%v, want U=%v p=%v", u, p, tt.wantU, tt.wantP)
			}
		})
	}
}

func TestMannWhitneyLeavesInputsUnsorted(t *testing.T) {
	a, b := []float64{3, 1, 2}, []float64{9, 7, 8}
	MannWhitney(a, b, Less)
	if a[0] != 3 || b[0] != 9 {
		t.Fatalf("inputs were reordered: %v %v", a, b)
	}
}
