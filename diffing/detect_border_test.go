package diffing

import "testing"

func TestDetectBorder(t *testing.T) {
	shape := []int64{2, 3, 16, 16}
	ref := randVals(31, 2*3*16*16)
	edge := func(i, w int) bool {
		h, x := i/16%16, i%16
		return min(h, 15-h, x, 15-x) < w
	}
	t.Run("padding", func(t *testing.T) {
		ours := mapVals(ref, func(i int, x float64) float64 {
			if edge(i, 1) {
				return x * 0.7
			}
			return x
		})
		wantKind(t, runCaseFs(t, detectBorder, shape, ref, ours), TensorHintBorder)
	})
	t.Run("near miss: one inner element too", func(t *testing.T) {
		ours := mapVals(ref, func(i int, x float64) float64 {
			if edge(i, 1) || i == 8*16+8 {
				return x * 0.7
			}
			return x
		})
		wantNone(t, runCaseFs(t, detectBorder, shape, ref, ours))
	})
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectBorder, shape, ref) })
}

func runCaseFs(t *testing.T, d detector, shape []int64, ref, ours []float64) []finding {
	t.Helper()
	_, fs := runCase(t, d, shape, ref, ours)
	return fs
}
