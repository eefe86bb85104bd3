package diffing

import (
	"math"
	"testing"
)

func TestDetectBroadcast(t *testing.T) {
	shape := []int64{4, 16, 32}
	ref := randVals(41, 4*16*32)
	t.Run("bias per feature", func(t *testing.T) {
		ours := mapVals(ref, func(i int, x float64) float64 { return x + 0.01*float64(i%32) })
		f := wantKind(t, runCaseFs(t, detectBroadcast, shape, ref, ours), TensorHintChannelOffset)
		if f.axis != 2 || math.Abs(f.offsets[5]-0.05) > 1e-6 {
			t.Fatalf("axis %d offsets %v", f.axis, f.offsets)
		}
	})
	t.Run("near miss: offsets that vary within a feature", func(t *testing.T) {
		ours := mapVals(ref, func(i int, x float64) float64 { return x + 0.01*float64(i%32) + 0.05*math.Sin(float64(i)*1.7) })
		wantNone(t, runCaseFs(t, detectBroadcast, shape, ref, ours))
	})
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectBroadcast, shape, ref) })
}
