package diffing

import (
	"math/rand/v2"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// TestSignFlipTinyValues: a sign flip of F64 values far below F32's
// normal range is a sign flip, at any tolerance that fails it, and no
// narrower format is named: there F32's ulp is a fixed step of 2^-149
// that every tiny error fits. Σ ref² of values near 1e-170 underflows
// float64, so the fit must use the scaled sums.
func TestSignFlipTinyValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	for _, scale := range []float64{1e-170, 6e-46, 1e-300} {
		r := make([]float64, 4096)
		for i := range r {
			r[i] = (2*rng.Float64() - 1) * scale
		}
		o := mapVals(r, func(_ int, x float64) float64 { return -x })
		for _, tol := range []Tolerance{{Exact: true}, {Rtol: 1e-7}} {
			res, err := CompareWith(mkTensor(t, "r", tensor.F64, []int64{64, 64}, r), mkTensor(t, "o", tensor.F64, []int64{64, 64}, o), tol, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Pass || len(res.Hints) == 0 || res.Hints[0].Kind != TensorHintSignFlip {
				t.Errorf("scale %g, %+v: want primary sign_flip, got %s", scale, tol, fmtHints(res.Hints))
			}
			for _, h := range res.Hints {
				if h.Kind == TensorHintRounding {
					t.Errorf("scale %g, %+v: a narrower format named outside its normal range: %s", scale, tol, h.Summary)
				}
			}
		}
	}
}

// TestRoundingOutsideNormalRange: differences that fill F32's subnormal
// step (values below 2^-126, each off by under one 2^-149) are not
// called F32 rounding when most values lie outside F32's normal range.
func TestRoundingOutsideNormalRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	r := make([]float64, 4096)
	o := make([]float64, len(r))
	step := 0x1p-149
	for i := range r {
		r[i] = (1 + rng.Float64()) * 0x1p-140
		o[i] = r[i] + (rng.Float64()-0.5)*step
	}
	res, err := CompareWith(mkTensor(t, "r", tensor.F64, []int64{4096}, r), mkTensor(t, "o", tensor.F64, []int64{4096}, o), Tolerance{Exact: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Hints {
		if h.Kind == TensorHintRounding {
			t.Errorf("F32 named for values outside its normal range: %s", fmtHints(res.Hints))
		}
	}
}
