package diffing

import (
	"math"
	"strings"
	"testing"
)

func TestDetectElementwiseCases(t *testing.T) {
	shape := []int64{16, 64}
	x := mapVals(randVals(61, 16*64), func(_ int, v float64) float64 { return 3 * v })
	ref := mapVals(x, func(_ int, v float64) float64 { return geluErf(v) })
	t.Run("gelu tanh", func(t *testing.T) {
		ours := mapVals(x, func(_ int, v float64) float64 { return geluTanh(v) })
		f := wantKind(t, runCaseFs(t, detectElementwise, shape, ref, ours), TensorHintElementwise)
		if !strings.Contains(f.hint.Summary, "GELU tanh approximation in ours") {
			t.Fatalf("named %q", f.hint.Summary)
		}
	})
	t.Run("near miss: not a function of ref", func(t *testing.T) {
		ours := mapVals(ref, func(i int, v float64) float64 { return v + 1e-3*math.Sin(float64(i)*0.37) })
		wantNone(t, runCaseFs(t, detectElementwise, shape, ref, ours))
	})
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectElementwise, shape, ref) })
}
