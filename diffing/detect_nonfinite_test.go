package diffing

import (
	"math"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

func TestDetectNonFinite(t *testing.T) {
	shape := []int64{16, 64}
	n := 16 * 64
	base := randVals(81, n)
	for _, c := range []struct {
		name      string
		ref, ours func(i int, x float64) float64
		want      string
	}{
		{"xlogy as x*log(x)", func(i int, x float64) float64 {
			if i%9 == 0 {
				return 0 // xlogy(0, 0) = 0
			}
			return x * x
		}, func(i int, x float64) float64 {
			if i%9 == 0 {
				return math.NaN()
			}
			return x * x
		}, "0·log(0) or 0/0"},
		{"F16 overflow", func(i int, x float64) float64 { return 3e4 * x }, func(i int, x float64) float64 {
			if math.Abs(3e4*x) > 65504 {
				return math.Copysign(math.Inf(1), x)
			}
			return 3e4 * x
		}, "overflows F16"},
		{"log-sum-exp without the max", func(_ int, x float64) float64 { return 80 + 10*x }, func(_ int, x float64) float64 {
			if 80+10*x > lnMaxF32 {
				return math.Inf(1)
			}
			return 80 + 10*x
		}, "overflows an exp"},
		{"sqrt of a negative", func(_ int, x float64) float64 { return math.Sqrt(math.Abs(x)) }, func(_ int, x float64) float64 {
			if x < 0 {
				return math.NaN()
			}
			return math.Sqrt(x)
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, o := mapVals(base, c.ref), mapVals(base, c.ours)
			if c.want == "" {
				// ref is |x|'s root: never negative, so no class covers the
				// NaNs; nothing is named.
				wantNone(t, runCaseFs(t, detectNonFinite, shape, r, o))
				return
			}
			f := wantKind(t, runCaseFs(t, detectNonFinite, shape, r, o), TensorHintNonFinite)
			if !strings.Contains(f.hint.Summary, c.want) {
				t.Errorf("%q, want %q", f.hint.Summary, c.want)
			}
		})
	}
	t.Run("negative input", func(t *testing.T) {
		r := mapVals(base, func(_ int, x float64) float64 { return x })
		o := mapVals(base, func(_ int, x float64) float64 {
			if x < 0 {
				return math.NaN()
			}
			return x
		})
		f := wantKind(t, runCaseFs(t, detectNonFinite, shape, r, o), TensorHintNonFinite)
		if !strings.Contains(f.hint.Summary, "negative") {
			t.Errorf("%q", f.hint.Summary)
		}
	})
	// NaNs with no pattern: nothing named, and the unexplained hint says
	// that only NaNs fail.
	t.Run("no pattern", func(t *testing.T) {
		o := mapVals(base, func(i int, x float64) float64 {
			if i%37 == 5 {
				return math.NaN()
			}
			return x
		})
		res := mustCompare(t, mkTensor(t, "r", tensor.F32, shape, base), mkTensor(t, "o", tensor.F32, shape, o), DefaultTolerance(tensor.F32, tensor.F32))
		if len(res.Hints) == 0 || res.Hints[0].Kind != TensorHintUnexplained || !strings.Contains(res.Hints[0].Summary, "every mismatch is a NaN or Inf") {
			t.Fatalf("hints %+v", res.Hints)
		}
	})
}
