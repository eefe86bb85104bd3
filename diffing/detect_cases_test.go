package diffing

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// runCase builds the detectors' input for F32 ref and ours of a shape
// and runs one detector on it.
func runCase(t *testing.T, d detector, shape []int64, ref, ours []float64) (*diagInput, []finding) {
	t.Helper()
	in := detectorInput(t, mkTensor(t, "r", tensor.F32, shape, ref), mkTensor(t, "o", tensor.F32, shape, ours))
	fs, err := runDetector(d, in)
	if err != nil {
		t.Fatal(err)
	}
	return in, fs
}

// f32Noise is ref with float32 rounding noise (a few ulps, as a different
// summation order leaves): the noise case no detector may claim.
func f32Noise(ref []float64) []float64 {
	rng := rand.New(rand.NewPCG(77, 1))
	return mapVals(ref, func(_ int, x float64) float64 {
		return float64(float32(x * (1 + 3*math.Ldexp(rng.Float64()*2-1, -24))))
	})
}

// wantNoise checks the noise case is noise-level and unclaimed.
func wantNoise(t *testing.T, d detector, shape []int64, ref []float64) {
	t.Helper()
	in, fs := runCase(t, d, shape, ref, f32Noise(ref))
	if !in.noise {
		t.Fatalf("the noise case is not noise-level")
	}
	for _, f := range fs {
		if !f.weak {
			t.Fatalf("noise claimed: %s: %s", f.hint.Kind, f.hint.Summary)
		}
	}
}

func wantKind(t *testing.T, fs []finding, kind string) finding {
	t.Helper()
	for _, f := range fs {
		if f.hint.Kind == kind && !f.weak {
			return f
		}
	}
	t.Fatalf("no %s finding: %+v", kind, fs)
	return finding{}
}

func wantNone(t *testing.T, fs []finding) {
	t.Helper()
	for _, f := range fs {
		if !f.weak {
			t.Fatalf("near miss claimed: %s: %s", f.hint.Kind, f.hint.Summary)
		}
	}
}
