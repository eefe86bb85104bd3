package diffing

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// TestMismatchBoxRuns checks the run-wise box walk against an element by
// element one on random shapes, block offsets and mismatch patterns
// (rows shorter and longer than a block, a block ending mid-row).
func TestMismatchBoxRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for trial := range 2000 {
		nd := 1 + rng.IntN(4)
		shape := make([]int64, nd)
		numel := int64(1)
		for a := range shape {
			shape[a] = 1 + rng.Int64N(9)
			numel *= shape[a]
		}
		base := rng.Int64N(numel)
		flags := make([]bool, 1+rng.Int64N(numel-base))
		for i := range flags {
			flags[i] = rng.IntN(4) == 0
		}
		want := newMismatchBox(shape, 0, numel)
		idx := tensor.Unravel(base, shape)
		for _, m := range flags {
			if m {
				for a, v := range idx {
					want.lo[a], want.hi[a] = min(want.lo[a], v), max(want.hi[a], v)
				}
			}
			for a := nd - 1; a >= 0; a-- {
				idx[a]++
				if idx[a] < shape[a] {
					break
				}
				idx[a] = 0
			}
		}
		got := newMismatchBox(shape, 0, numel)
		got.walk(base, flags)
		if !slices.Equal(got.lo, want.lo) || !slices.Equal(got.hi, want.hi) {
			t.Fatalf("trial %d shape %v base %d: got %v..%v, want %v..%v", trial, shape, base, got.lo, got.hi, want.lo, want.hi)
		}
	}
}
