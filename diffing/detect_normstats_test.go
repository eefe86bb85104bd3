package diffing

import (
	"math"
	"testing"
)

// layerNorm normalizes each row (last axis, size cols) of x with eps,
// then adds bias b[c]; rows get different variances from x's own.
func layerNorm(x []float64, cols int, eps float64, b []float64) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < len(x); r += cols {
		var m, v float64
		for _, u := range x[r : r+cols] {
			m += u
		}
		m /= float64(cols)
		for _, u := range x[r : r+cols] {
			v += (u - m) * (u - m)
		}
		v /= float64(cols)
		for c := range cols {
			out[r+c] = (x[r+c]-m)/math.Sqrt(v+eps) + b[c]
		}
	}
	return out
}

func TestDetectNormStats(t *testing.T) {
	const rows, cols = 64, 64
	shape := []int64{4, 16, cols}
	// Rows of very different spread, so that eps matters unequally.
	x := mapVals(randVals(41, rows*cols), func(i int, u float64) float64 { return u * math.Pow(10, float64(i/cols%5)-3) })
	b := mapVals(randVals(42, cols), func(_ int, u float64) float64 { return 0.5 * u })
	ref := layerNorm(x, cols, 1e-5, b)
	t.Run("eps differs", func(t *testing.T) {
		ours := layerNorm(x, cols, 1e-3, b)
		_, fs := runCase(t, detectNormStats, shape, ref, ours)
		f := wantKind(t, fs, TensorHintNormStats)
		// s_t of sampled row t (row t·rows/nr) against sqrt((v+1e-5)/(v+1e-3)).
		nr := len(f.scales)
		for k, s := range f.scales {
			row := k * rows / nr
			var m, v float64
			for _, u := range x[row*cols : (row+1)*cols] {
				m += u
			}
			m /= cols
			for _, u := range x[row*cols : (row+1)*cols] {
				v += (u - m) * (u - m)
			}
			v /= cols
			if want := math.Sqrt((v + 1e-5) / (v + 1e-3)); math.Abs(s-want) > 1e-3*want+1e-6 {
				t.Fatalf("row %d: s = %g, want %g", row, s, want)
			}
		}
	})
	t.Run("near miss: unstructured error", func(t *testing.T) {
		ours := mapVals(ref, func(i int, u float64) float64 { return u + 0.05*math.Sin(float64(i)*1.7) })
		_, fs := runCase(t, detectNormStats, shape, ref, ours)
		wantNone(t, fs)
	})
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectNormStats, shape, ref) })
}
