package diffing

import (
	"strings"
	"testing"
)

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
	t.Run("mask missing in ours", func(t *testing.T) {
		ref, ours := causal(0), causal(100)
		_, fs := runCase(t, detectBand, shape, ref, ours)
		if f := wantKind(t, fs, TensorHintBand); !strings.Contains(f.hint.Summary, "causal mask is missing in ours") {
			t.Fatalf("summary %q", f.hint.Summary)
		}
	})
	t.Run("near miss: a zero corner (ReLU), not a mask", func(t *testing.T) {
		ref := mapVals(randVals(22, 2*32*32), func(_ int, x float64) float64 { return 0.1 + x*x })
		ours := mapVals(ref, func(i int, x float64) float64 {
			if i%32-i/32%32 >= 30 {
				return 0
			}
			return x
		})
		_, fs := runCase(t, detectBand, shape, ref, ours)
		for _, f := range fs {
			if strings.Contains(f.hint.Summary, "missing") {
				t.Fatalf("claimed %q", f.hint.Summary)
			}
		}
	})
	t.Run("sliding window 8 vs 16", func(t *testing.T) {
		ref, ours := window(0, 8), window(0, 16)
		_, fs := runCase(t, detectBand, shape, ref, ours)
		f := wantKind(t, fs, TensorHintBand)
		if !strings.Contains(f.hint.Summary, "ref is masked on j - i <= -8 (window 8), ours is masked on j - i <= -16 (window 16)") {
			t.Fatalf("summary %q", f.hint.Summary)
		}
	})
	t.Run("near miss: windows alike, values differ", func(t *testing.T) {
		ref := window(0, 8)
		ours := mapVals(ref, func(i int, x float64) float64 {
			if x != 0 && i%3 == 0 {
				return x * 1.5
			}
			return x
		})
		_, fs := runCase(t, detectBand, shape, ref, ours)
		wantNone(t, fs)
	})
}

// window is causal(k) also masked on j - i <= -w.
func window(k, w int) []float64 {
	const T = 32
	return mapVals(causal(k), func(i int, x float64) float64 {
		if i%T-i/T%T <= -w {
			return 0
		}
		return x
	})
}
