package diffing

import (
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// permuteAxis returns vals (C order, shape) with ours[..., i, ...] =
// f(i, vals[..., perm[i], ...]) along axis a.
func permuteAxis(vals []float64, shape []int64, a int, perm []int64, f func(i int, x float64) float64) []float64 {
	out := make([]float64, len(vals))
	for j := range out {
		idx := tensor.Unravel(int64(j), shape)
		i := idx[a]
		idx[a] = perm[i]
		out[j] = f(int(i), vals[ravel(idx, shape)])
	}
	return out
}

func TestDetectIndexPerm(t *testing.T) {
	same := func(_ int, x float64) float64 { return x }
	img := []int64{2, 3, 16, 16}
	ref := randVals(51, 2*3*16*16)
	t.Run("BGR", func(t *testing.T) {
		ours := permuteAxis(ref, img, 1, []int64{2, 1, 0}, same)
		f := wantKind(t, runCaseFs(t, detectIndexPerm, img, ref, ours), TensorHintIndexPermuted)
		if f.axis != 1 || !strings.Contains(f.hint.Summary, "RGB vs BGR") {
			t.Errorf("axis %d, %q", f.axis, f.hint.Summary)
		}
	})
	t.Run("BGR normalized with RGB constants", func(t *testing.T) {
		mean, std := []float64{0.485, 0.456, 0.406}, []float64{0.229, 0.224, 0.225}
		ours := permuteAxis(ref, img, 1, []int64{2, 1, 0}, func(i int, x float64) float64 { return (x - mean[i]) / std[i] })
		refN := permuteAxis(ref, img, 1, []int64{0, 1, 2}, func(i int, x float64) float64 { return (x - mean[i]) / std[i] })
		f := wantKind(t, runCaseFs(t, detectIndexPerm, img, refN, ours), TensorHintIndexPermuted)
		if !strings.Contains(f.hint.Summary, "affine map per index") {
			t.Errorf("%q", f.hint.Summary)
		}
	})
	t.Run("heads", func(t *testing.T) {
		shape := []int64{1, 8, 16, 32}
		r := randVals(52, 8*16*32)
		ours := permuteAxis(r, shape, 1, []int64{1, 0, 3, 2, 5, 4, 7, 6}, same)
		f := wantKind(t, runCaseFs(t, detectIndexPerm, shape, r, ours), TensorHintIndexPermuted)
		if f.axis != 1 {
			t.Errorf("axis %d", f.axis)
		}
	})
	t.Run("two heads of eight swapped", func(t *testing.T) {
		shape := []int64{1, 8, 16, 32}
		r := randVals(55, 8*16*32)
		ours := permuteAxis(r, shape, 1, []int64{0, 5, 2, 3, 4, 1, 6, 7}, same)
		f := wantKind(t, runCaseFs(t, detectIndexPerm, shape, r, ours), TensorHintIndexPermuted)
		if !strings.Contains(f.hint.Evidence, "(0, 5, 2, 3, 4, 1, 6, 7)") {
			t.Errorf("%q", f.hint.Evidence)
		}
	})
	t.Run("gate and up swapped", func(t *testing.T) {
		shape := []int64{16, 2 * 96}
		r := randVals(53, 16*2*96)
		perm := make([]int64, 2*96)
		for i := range perm {
			perm[i] = int64((i + 96) % (2 * 96))
		}
		f := wantKind(t, runCaseFs(t, detectIndexPerm, shape, r, permuteAxis(r, shape, 1, perm, same)), TensorHintIndexPermuted)
		if !strings.Contains(f.hint.Summary, "two halves swapped") || !strings.Contains(f.hint.Evidence, "blocks of 96 in the order (1, 0)") {
			t.Errorf("%q / %q", f.hint.Summary, f.hint.Evidence)
		}
	})
	// A per-channel affine without a permutation is channel_affine's; a
	// shuffle within each channel is no index order; noise is noise.
	aff := mapVals(ref, func(j int, x float64) float64 { return 1.1*x + float64(j/256%3) })
	wantNone(t, runCaseFs(t, detectIndexPerm, img, ref, aff))
	wantNone(t, runCaseFs(t, detectIndexPerm, img, ref, randVals(54, len(ref))))
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectIndexPerm, img, ref) })
}
