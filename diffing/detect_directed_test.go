package diffing

import (
	"math"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// truncBF16 rounds x to BF16 toward zero (the low 16 bits of its F32
// dropped).
func truncBF16(x float64) float64 {
	return float64(math.Float32frombits(math.Float32bits(float32(x)) &^ 0xffff))
}

func TestDetectDirected(t *testing.T) {
	shape := []int64{32, 128}
	x := randVals(91, 32*128)
	bf := tensor.BF16
	// Both sides BF16: ref rounded to nearest, ours truncated. The noise
	// rule alone passes this as BF16 noise.
	ref := mkTensor(t, "r", bf, shape, x) // encode rounds to nearest
	ours := mkTensor(t, "o", bf, shape, mapVals(x, func(_ int, v float64) float64 { return truncBF16(v) }))
	res := mustCompare(t, ref, ours, Tolerance{Atol: 0, Rtol: 0})
	if len(res.Hints) == 0 || res.Hints[0].Kind != TensorHintRounding || !strings.Contains(res.Hints[0].Summary, "toward zero (truncation)") {
		t.Fatalf("hints %+v", res.Hints)
	}
	for _, h := range res.Hints {
		if h.Kind == TensorHintNoise || h.Kind == TensorHintTolerance {
			t.Errorf("a truncation called noise: %s: %s", h.Kind, h.Summary)
		}
	}
	// Round-to-nearest from F64 on one side, F32 sums in another order on
	// the other: noise, signs balanced.
	f32 := tensor.F32
	r2 := mkTensor(t, "r", f32, shape, x)
	o2 := mkTensor(t, "o", f32, shape, f32Noise(x))
	res = mustCompare(t, r2, o2, Tolerance{Atol: 0, Rtol: 0})
	if len(res.Hints) == 0 || res.Hints[0].Kind != TensorHintNoise {
		t.Fatalf("noise pair: hints %+v", res.Hints)
	}
}
