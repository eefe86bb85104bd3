package diffing

import (
	"fmt"
	"math"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// BenchmarkDiagnose compares the time of a failing pair's diagnosis with
// that of its compare pass: "compare" runs with NoHints, "diagnose" the
// whole comparison with hints, on F32 pairs of realistic activation
// shapes (1M elements, [8, 256, 512], and 8M, [64, 256, 512]) for a few
// kinds of bug; the diagnosis costs diagnose - compare: one streamed pass
// and samples of a bounded size, so its share falls as the pair grows.
func BenchmarkDiagnose(b *testing.B) {
	for _, shape := range [][]int64{{8, 256, 512}, {64, 256, 512}} {
		benchDiagnose(b, shape)
	}
}

func benchDiagnose(b *testing.B, shape []int64) {
	n := int(shape[0] * shape[1] * shape[2])
	size := fmt.Sprintf("%dM", n>>20)
	r := randVals(5, n)
	bugs := []struct {
		name string
		f    func(i int, x float64) float64
	}{
		{"bias", func(i int, x float64) float64 { return x + 0.01*float64(i%512%7) }},
		{"gelu", func(_ int, x float64) float64 { return geluTanh(x) }},
		{"unexplained", func(i int, x float64) float64 { return x + 1e-3*math.Sin(float64(i)*0.37) }},
		// Sparse: one channel of 512 wrong, so the compare pass finds few
		// mismatches (its fastest failing case) while the diagnosis does
		// the same work.
		{"one_channel", func(i int, x float64) float64 {
			if i%512 == 100 {
				return 1.5 * x
			}
			return x
		}},
	}
	plain := mkTensor(b, "r", tensor.F32, shape, r)
	for _, bug := range bugs {
		ref := plain
		if bug.name == "gelu" {
			ref = mkTensor(b, "r", tensor.F32, shape, mapVals(r, func(_ int, x float64) float64 { return geluErf(x) }))
		}
		ours := mkTensor(b, "o", tensor.F32, shape, mapVals(r, bug.f))
		tol := DefaultTolerance(tensor.F32, tensor.F32)
		for _, hints := range []bool{false, true} {
			what := "compare"
			if hints {
				what = "diagnose"
			}
			b.Run(size+"/"+bug.name+"/"+what, func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				for b.Loop() {
					res, err := CompareWith(ref, ours, tol, Options{NoHints: !hints})
					if err != nil || res.Pass {
						b.Fatal(err, res.Pass)
					}
				}
			})
		}
	}
}
