package diffing

import (
	"math"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

func TestUnexplainedHint(t *testing.T) {
	shape := []int64{4, 16, 32}
	ref := randVals(71, 4*16*32)
	diag := func(ours []float64) Result {
		t.Helper()
		res, err := CompareWith(mkTensor(t, "r", tensor.F32, shape, ref), mkTensor(t, "o", tensor.F32, shape, ours), DefaultTolerance(tensor.F32, tensor.F32), Options{})
		if err != nil || res.Pass || len(res.Hints) == 0 {
			t.Fatalf("want a diagnosed failure: %v, pass %v", err, res.Pass)
		}
		return res
	}
	t.Run("no cause fits", func(t *testing.T) {
		// Unstructured error, most of it in index 3 of axis 1.
		ours := mapVals(ref, func(i int, x float64) float64 {
			a := 2e-5
			if i/32%16 == 3 {
				a = 3e-2
			}
			return x + a*math.Sin(float64(i)*2.3+x)
		})
		res := diag(ours)
		h := res.Hints[0]
		if h.Kind != TensorHintUnexplained || len(res.Hints) != 1 {
			t.Fatalf("want only unexplained, got %s", fmtHints(res.Hints))
		}
		for _, want := range []string{"above float noise", "strongest structure", "index 3 of axis 1 holds"} {
			if !strings.Contains(h.Evidence, want) {
				t.Errorf("evidence %q lacks %q", h.Evidence, want)
			}
		}
	})
	t.Run("near miss: a bias per feature", func(t *testing.T) {
		res := diag(mapVals(ref, func(i int, x float64) float64 { return x + 0.01*float64(i%32%5+1) }))
		if res.Hints[0].Kind == TensorHintUnexplained {
			t.Fatalf("a per-feature bias left unexplained: %s", fmtHints(res.Hints))
		}
	})
	t.Run("noise", func(t *testing.T) {
		// Noise that fails the default tolerance is noise, never unexplained.
		ours := mapVals(ref, func(i int, x float64) float64 {
			return float64(float32(x + 8*math.Ldexp(math.Sin(float64(i)), -24)*math.Abs(x)))
		})
		res, err := CompareWith(mkTensor(t, "r", tensor.F32, shape, ref), mkTensor(t, "o", tensor.F32, shape, ours), Tolerance{Exact: true}, Options{})
		if err != nil || res.Pass {
			t.Fatal(err, res.Pass)
		}
		for _, h := range res.Hints {
			if h.Kind == TensorHintUnexplained {
				t.Fatalf("noise called unexplained: %s", fmtHints(res.Hints))
			}
		}
		if res.Hints[0].Kind != TensorHintNoise {
			t.Fatalf("want noise, got %s", fmtHints(res.Hints))
		}
	})
}
