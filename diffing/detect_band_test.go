package diffing

import "testing"

// causal is a [2, T, T] probability-like tensor masked (zero) above the
// diagonal k.
func causal(k int) []float64 {
	const T = 32
	r := randVals(21, 2*T*T)
	return mapVals(r, func(i int, x float64) float64 {
		row, col := i/T%T, i%T
		if col-row > k {
			return 0
		}
		return 0.1 + x*x
	})
}

func TestDetectBand(t *testing.T) {
	shape := []int64{2, 32, 32}
	t.Run("mask offset", func(t *testing.T) {
		ref, ours := causal(0), causal(1)
		// ours's extra diagonal has its own values.
		_, fs := runCase(t, detectBand, shape, ref, ours)
		if f := wantKind(t, fs, TensorHintBand); f.band != 1 {
			t.Fatalf("band shift %d, want 1", f.band)
		}
	})
	t.Run("near miss: mismatches spread", func(t *testing.T) {
		ref := causal(0)
		ours := mapVals(ref, func(i int, x float64) float64 {
			if i%5 == 0 && x != 0 {
				return x + 0.5
			}
			return x
		})
		_, fs := runCase(t, detectBand, shape, ref, ours)
		wantNone(t, fs)
	})
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectBand, shape, causal(0)) })
}
