package diffing

import (
	"math"
	"strings"
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

// TestDetectBroadcastBatchVariance: BatchNorm with the unbiased batch
// variance scales every channel by sqrt((n-1)/n), n = N·H·W (not a
// dimension of the shape), named from the reduced size; a common scale
// as near 1 that is not such a factor stays channel_affine, with a_i - 1
// shown.
func TestDetectBroadcastBatchVariance(t *testing.T) {
	shape := []int64{4, 16, 8, 8}
	ref := randVals(43, 4*16*8*8)
	bias := func(i int) float64 { return 1e-3 * float64(i/64%16) }
	t.Run("unbiased batch variance", func(t *testing.T) {
		k := math.Sqrt(255.0 / 256)
		ours := mapVals(ref, func(i int, x float64) float64 { return k*x + bias(i) })
		f := wantKind(t, runCaseFs(t, detectBroadcast, shape, ref, ours), TensorHintNormStats)
		if !strings.Contains(f.hint.Summary, "sqrt((n-1)/n) with n = 256, the size the per-index statistics reduce over") {
			t.Fatalf("summary %q", f.hint.Summary)
		}
	})
	t.Run("near miss: another common scale", func(t *testing.T) {
		ours := mapVals(ref, func(i int, x float64) float64 { return 0.99*x + bias(i) })
		f := wantKind(t, runCaseFs(t, detectBroadcast, shape, ref, ours), TensorHintChannelAffine)
		if !strings.Contains(f.hint.Evidence, "a_i - 1 range -0.01..-0.01") {
			t.Fatalf("evidence %q", f.hint.Evidence)
		}
	})
}

// TestNestedModels: a per-index or per-row model that only redoes one
// scale for the whole tensor is not a per-channel cause. ours ≈ 0.2·ref
// with a residual unrelated to any axis (an average pool where a max
// pool belongs leaves such a pair): one line d = α·ref + β leaves under
// 1% of Σ d², so the per-index and per-row fits explain 99% too, without
// removing what that line leaves.
func TestNestedModels(t *testing.T) {
	shape := []int64{2, 16, 16, 16}
	ref := randVals(61, 2*16*16*16)
	ours := mapVals(ref, func(i int, x float64) float64 { return 0.2*x + 0.01*math.Sin(float64(i)*0.7) })
	wantNone(t, runCaseFs(t, detectBroadcast, shape, ref, ours))
	wantNone(t, runCaseFs(t, detectNormStats, shape, ref, ours))
}

// TestBroadcastAccumulation: a scale per row within 4·√N·ε of 1 (a
// softmax normalizer summed sequentially over 50k entries in F32) is said
// to be within the accumulation error, as a weak finding; a larger one,
// or one in F16 data (accumulated in F32 by any sane kernel), is not.
func TestBroadcastAccumulation(t *testing.T) {
	shape := []int64{8, 50000}
	ref := mapVals(randVals(62, 8*50000), func(_ int, x float64) float64 { return math.Exp(x) / 50000 })
	scaled := func(k float64) []float64 {
		return mapVals(ref, func(i int, x float64) float64 { return x * (1 + k*float64(1+i/50000%3)) })
	}
	fs := runCaseFs(t, detectBroadcast, shape, ref, scaled(2e-5))
	if len(fs) != 1 || !fs[0].weak || !strings.Contains(fs[0].hint.Summary, "within the accumulation error of a sum over the 50000 elements") {
		t.Fatalf("findings %+v", fs)
	}
	f := wantKind(t, runCaseFs(t, detectBroadcast, shape, ref, scaled(1e-3)), TensorHintChannelAffine)
	if strings.Contains(f.hint.Summary, "accumulation") {
		t.Errorf("a 0.1%% per-row scale called accumulation error: %q", f.hint.Summary)
	}
}
