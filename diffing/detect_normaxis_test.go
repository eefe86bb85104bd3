package diffing

import (
	"math"
	"testing"
)

// softmaxAlong is softmax of x (C order, shape) along axis a.
func softmaxAlong(x []float64, shape []int64, a int) []float64 {
	stride := int64(1)
	for _, s := range shape[a+1:] {
		stride *= s
	}
	d := shape[a]
	out := make([]float64, len(x))
	for base := int64(0); base < int64(len(x)); base++ {
		if base/stride%d != 0 {
			continue // not the first index of a fiber along a
		}
		var s float64
		for i := range d {
			s += math.Exp(x[base+i*stride])
		}
		for i := range d {
			out[base+i*stride] = math.Exp(x[base+i*stride]) / s
		}
	}
	return out
}

func TestDetectNormAxis(t *testing.T) {
	shape := []int64{2, 8, 8}
	logits := randVals(31, 2*8*8)
	ref := softmaxAlong(logits, shape, 2)
	t.Run("softmax over the wrong axis", func(t *testing.T) {
		_, fs := runCase(t, detectNormAxis, shape, ref, softmaxAlong(logits, shape, 1))
		if f := wantKind(t, fs, TensorHintNormAxis); f.axis != 1 {
			t.Fatalf("ours's axis %d, want 1", f.axis)
		}
	})
	t.Run("near miss: same axis, other logits", func(t *testing.T) {
		other := mapVals(logits, func(i int, x float64) float64 { return x + 0.3*float64(i%3) })
		_, fs := runCase(t, detectNormAxis, shape, ref, softmaxAlong(other, shape, 2))
		wantNone(t, fs)
	})
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectNormAxis, shape, ref) })
}
