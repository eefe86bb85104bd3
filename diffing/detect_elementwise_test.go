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

// TestDetectElementwiseNotAFunction: d correlated with ref but not a
// function of it (a missing or doubled residual: ours = ref - x or
// ref + x with ref = x + branch) is declined, and so is any per-value
// mapping of a ref with few distinct values (a bucket table); an
// unnamed nonlinear function of ref is still found.
func TestDetectElementwiseNotAFunction(t *testing.T) {
	shape := []int64{32, 128}
	n := 32 * 128
	x := randVals(71, n)
	branch := mapVals(randVals(72, n), func(_ int, v float64) float64 { return 0.4 * v })
	ref := mapVals(x, func(i int, v float64) float64 { return v + branch[i] })
	// the unnamed hint is a weak finding: count them all
	count := func(ref, ours []float64) int { return len(runCaseFs(t, detectElementwise, shape, ref, ours)) }
	t.Run("missing residual", func(t *testing.T) {
		if c := count(ref, branch); c != 0 {
			t.Fatalf("%d findings", c)
		}
	})
	t.Run("residual twice", func(t *testing.T) {
		if c := count(ref, mapVals(ref, func(i int, v float64) float64 { return v + x[i] })); c != 0 {
			t.Fatalf("%d findings", c)
		}
	})
	t.Run("bucket table", func(t *testing.T) {
		table := randVals(73, 64)
		tref := mapVals(x, func(i int, _ float64) float64 { return table[(i*7+i/128)%64] })
		ours := mapVals(x, func(i int, _ float64) float64 { return table[(i*7+i/128+5)%64] })
		if c := count(tref, ours); c != 0 {
			t.Fatalf("%d findings", c)
		}
	})
	// A softmax temperature: ours = softmax(s/64) where ref =
	// softmax(s/8), row by row. d depends on the row's other scores too;
	// its size follows ref, so it looks smooth against unrelated elements
	// (0.91 on the seed that caught it), but it is as far from its
	// nearest neighbours as from those 16 places away.
	t.Run("softmax temperature", func(t *testing.T) {
		rows, cols := 32, 128
		soft := func(scale float64) []float64 {
			out := make([]float64, rows*cols)
			for r := range rows {
				var sum float64
				for c := range cols {
					out[r*cols+c] = math.Exp(3 * x[r*cols+c] / scale)
					sum += out[r*cols+c]
				}
				for c := range cols {
					out[r*cols+c] /= sum
				}
			}
			return out
		}
		if c := count(soft(8), soft(64)); c != 0 {
			t.Fatalf("%d findings", c)
		}
	})
	// A steep function (log of probabilities) is one.
	t.Run("log of probabilities", func(t *testing.T) {
		p := mapVals(x, func(_ int, v float64) float64 { return math.Exp(3*v - 6) })
		if c := count(p, mapVals(p, func(_ int, v float64) float64 { return math.Log(v) })); c != 1 {
			t.Fatalf("%d findings, want the unnamed elementwise", c)
		}
	})
	t.Run("unnamed function", func(t *testing.T) {
		if c := count(ref, mapVals(ref, func(_ int, v float64) float64 { return v + 0.3*math.Sin(3*v) })); c != 1 {
			t.Fatalf("%d findings, want the unnamed elementwise", c)
		}
	})
}
