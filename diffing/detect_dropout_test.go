package diffing

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestDetectDropout(t *testing.T) {
	shape := []int64{4, 32, 64}
	ref := randVals(41, 4*32*64)
	drop := func(vals []float64, p float64, scale bool) []float64 {
		rng := rand.New(rand.NewPCG(5, 9))
		return mapVals(vals, func(_ int, x float64) float64 {
			if rng.Float64() < p {
				return 0
			}
			if scale {
				return float64(float32(x / (1 - p)))
			}
			return x
		})
	}
	for _, c := range []struct {
		name     string
		p        float64
		scale    bool
		oursSide bool
	}{
		{"ours p=0.1", 0.1, true, true},
		{"ours p=0.5", 0.5, true, true},
		{"ref p=0.1 (ref not in eval mode)", 0.1, true, false},
		{"ours mask without scaling", 0.2, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, o := ref, drop(ref, c.p, c.scale)
			if !c.oursSide {
				r, o = o, ref
			}
			fs := runCaseFs(t, detectDropout, shape, r, o)
			f := wantKind(t, fs, TensorHintDropout)
			who := "ours looks like ref"
			if !c.oursSide {
				who = "ref looks like ours"
			}
			if !strings.HasPrefix(f.hint.Summary, who) {
				t.Errorf("summary %q, want %q first", f.hint.Summary, who)
			}
		})
	}
	// Zeros by sign are a ReLU, not dropout; a constant factor without
	// zeros is a scale; random zeros with the rest changed otherwise fit
	// nothing.
	relu := mapVals(ref, func(_ int, x float64) float64 { return max(x, 0) })
	wantNone(t, runCaseFs(t, detectDropout, shape, ref, relu))
	wantNone(t, runCaseFs(t, detectDropout, shape, ref, mapVals(ref, func(_ int, x float64) float64 { return 1.25 * x })))
	noisy := drop(mapVals(ref, func(i int, x float64) float64 { return x + 0.01*float64(i%7) }), 0.1, true)
	wantNone(t, runCaseFs(t, detectDropout, shape, ref, noisy))
	// A zeroed region (one head never written, a padded range) is not
	// dropout: its zeros are neighbours.
	region := mapVals(ref, func(i int, x float64) float64 {
		if i%64 < 8 {
			return 0
		}
		return x
	})
	wantNone(t, runCaseFs(t, detectDropout, shape, ref, region))
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectDropout, shape, ref) })
}
