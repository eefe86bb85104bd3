package diffing

import (
	"math"
	"testing"
)

func TestDetectPosition(t *testing.T) {
	shape := []int64{2, 64, 32} // [batch, tokens, features]
	ref := randVals(51, 2*64*32)
	t.Run("grows along tokens", func(t *testing.T) {
		ours := mapVals(ref, func(i int, x float64) float64 {
			p := float64(i / 32 % 64)
			return x + 0.001*p*math.Cos(float64(i%32))
		})
		if f := wantKind(t, runCaseFs(t, detectPosition, shape, ref, ours), TensorHintPosition); f.axis != 1 {
			t.Fatalf("axis %d, want 1", f.axis)
		}
	})
	t.Run("near miss: already off at position 0", func(t *testing.T) {
		ours := mapVals(ref, func(i int, x float64) float64 {
			p := float64(i / 32 % 64)
			return x + 0.001*(p+20)*math.Cos(float64(i%32))
		})
		wantNone(t, runCaseFs(t, detectPosition, shape, ref, ours))
	})
	t.Run("near miss: zero for the first positions (a window)", func(t *testing.T) {
		ours := mapVals(ref, func(i int, x float64) float64 {
			p := float64(i / 32 % 64)
			return x + 0.001*max(p-15, 0)*math.Cos(float64(i%32))
		})
		wantNone(t, runCaseFs(t, detectPosition, shape, ref, ours))
	})
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectPosition, shape, ref) })
}
