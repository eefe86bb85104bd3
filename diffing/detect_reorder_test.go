package diffing

import (
	"slices"
	"testing"
)

func TestDetectReorder(t *testing.T) {
	shape := []int64{2, 8, 4, 16} // [batch, heads, tokens, head_dim]
	ref := randVals(61, 2*8*4*16)
	// Heads and tokens swapped: ref.permute(0, 2, 1, 3) declared with ref's shape.
	swapped, _ := permute(ref, shape, []int{0, 2, 1, 3})
	t.Run("heads and tokens swapped", func(t *testing.T) {
		_, fs := runCase(t, detectReorder, shape, ref, swapped)
		f := wantKind(t, fs, TensorHintReordered)
		// Cross-check: the map found reproduces ours from ref everywhere.
		m := newReorderMap(f.fine, f.perm, shape)
		for j := range swapped {
			if ref[m.refIndex(int64(j))] != swapped[j] {
				t.Fatalf("fine %v perm %v: ours[%d] is not ref[%d]", f.fine, f.perm, j, m.refIndex(int64(j)))
			}
		}
		if slices.Equal(f.fine, shape) && !slices.Equal(f.perm, []int{0, 2, 1, 3}) {
			t.Fatalf("perm %v, want [0 2 1 3]", f.perm)
		}
	})
	t.Run("near miss: permuted, then a tenth changed", func(t *testing.T) {
		ours := mapVals(swapped, func(i int, x float64) float64 {
			if i%10 == 3 {
				return x + 1
			}
			return x
		})
		_, fs := runCase(t, detectReorder, shape, ref, ours)
		wantNone(t, fs)
	})
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectReorder, shape, ref) })
}
