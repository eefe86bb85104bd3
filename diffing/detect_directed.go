package diffing

import (
	"fmt"
	"math"

	"github.com/refcmp/refcmp/tensor"
)

// detectDirected finds a rounding mode that is not round-to-nearest:
// every difference within one ulp of the pair's coarser dtype, and nearly
// all of them the same way (toward zero: truncation; away from zero; up;
// down). Round-to-nearest, another summation order or a wider
// accumulator leave differences of either sign in about equal numbers
// (half ± 4/√n); a truncating cast leaves them all on one side, at the
// noise level, where the noise rule alone would pass it as noise. It runs
// on noise-level pairs too, on the shared sample.
func detectDirected(in *diagInput) []finding {
	f, ok := pairFormat(in.res)
	if !ok {
		return nil
	}
	var n, toward, away, up, down int
	maxRatio := 0.0
	for _, p := range in.points() {
		x, y := p.r, p.o
		if x-x != 0 || y-y != 0 || x == y {
			continue
		}
		d := y - x
		e2 := max(int(math.Float64bits(x)>>52&0x7ff)-1023, f.emin)
		maxRatio = max(maxRatio, math.Abs(d)*exp2(f.p-1-e2))
		n++
		switch {
		case x != 0 && math.Signbit(d) != math.Signbit(x):
			toward++
		case x != 0:
			away++
		}
		if d > 0 {
			up++
		} else {
			down++
		}
	}
	if n < 64 || maxRatio > 1 {
		return nil
	}
	bound := 0.5 + 4*0.5/math.Sqrt(float64(n)) // half ± 4 standard errors
	share := func(k int) float64 { return float64(k) / float64(n) }
	var how string
	var k int
	switch {
	case share(toward) >= max(0.9, bound):
		how, k = "toward zero (truncation)", toward
	case share(away) >= max(0.9, bound):
		how, k = "away from zero", away
	case share(up) >= max(0.9, bound):
		how, k = "up (toward +Inf)", up
	case share(down) >= max(0.9, bound):
		how, k = "down (toward -Inf)", down
	default:
		return nil
	}
	name := f.dtype.String()
	return []finding{{
		hint: TensorHint{
			Kind:    TensorHintRounding,
			Summary: fmt.Sprintf("ours is rounded %s where ref rounds to nearest: every difference is within one %s ulp, %.0f%% of them the same way", how, name, 100*share(k)),
			Evidence: fmt.Sprintf("of %d sampled elements that differ, %d go %s (round-to-nearest and a different summation order give half ± %.2g); max |ours - ref| / ulp_%s(ref) = %s",
				n, k, how, 4*0.5/math.Sqrt(float64(n)), name, g(maxRatio)),
			Look: fmt.Sprintf("the cast or conversion to %s that writes this tensor: a truncating conversion (bits shifted off, a C cast of a mantissa, round-toward-zero mode) where round-to-nearest-even is meant", name),
		},
		score: share(k),
	}}
}

// pairFormat is the float format of the pair's coarser dtype.
func pairFormat(res *Result) (floatFormat, bool) {
	dt := res.RefDType
	if precision(res.OursDType) < precision(dt) {
		dt = res.OursDType
	}
	if dt == tensor.F64 {
		return floatFormat{dt, 53, -1022, math.MaxFloat64}, true
	}
	return formatOf(dt)
}
