package diffing

import (
	"fmt"
	"math"
)

// nonfiniteCounts is the extra pass's count of the elements where ours is
// NaN or ±Inf and ref is finite, by what ref holds there: what the values
// that break show about the op. It is attached to the pass only when the
// compare pass saw such elements.
type nonfiniteCounts struct {
	nan, inf int64
	// By ref's value: 0, negative, beyond F16's largest finite (65504),
	// beyond F32's; the rest.
	zero, neg, overF16, overF32 int64
}

func (c *nonfiniteCounts) fork() chunkVisitor { return &nonfiniteCounts{} }

func (c *nonfiniteCounts) merge(next chunkVisitor) {
	q := next.(*nonfiniteCounts)
	c.nan += q.nan
	c.inf += q.inf
	c.zero += q.zero
	c.neg += q.neg
	c.overF16 += q.overF16
	c.overF32 += q.overF32
}

func (c *nonfiniteCounts) visit(_ int64, ref, ours []float64) {
	ours = ours[:len(ref)]
	for i, x := range ref {
		y := ours[i]
		if y-y == 0 || x-x != 0 {
			continue
		}
		if y != y {
			c.nan++
		} else {
			c.inf++
		}
		ax := math.Abs(x)
		switch {
		case x == 0:
			c.zero++
		case ax > math.MaxFloat32:
			c.overF32++
		case ax > 65504:
			c.overF16++
		case x < 0:
			c.neg++
		}
	}
}

// detectNonFinite names what the NaN and Inf values ours introduces have
// in common, when one thing covers at least 99% of them: ref is 0 there
// (0·log 0, 0/0, a log or reciprocal of 0 that ref's op guards), ref is
// negative (a sqrt, log or fractional power of a negative number), or
// ref is beyond a narrower format's range (an overflow in F16 or F32).
func detectNonFinite(in *diagInput) []finding {
	c := in.nonfinite
	if c == nil {
		return nil
	}
	n := c.nan + c.inf
	if n == 0 {
		return nil
	}
	what := fmt.Sprintf("%d NaN and %d ±Inf", c.nan, c.inf)
	if c.inf == 0 {
		what = fmt.Sprintf("%d NaN", c.nan)
	} else if c.nan == 0 {
		what = fmt.Sprintf("%d ±Inf", c.inf)
	}
	most := func(k int64) bool { return float64(k) >= 0.99*float64(n) }
	var h TensorHint
	switch {
	case most(c.zero):
		h = TensorHint{
			Summary: "ours is NaN or Inf where ref is 0: " + map[bool]string{true: "0·log(0) or 0/0", false: "a division by zero or log(0)"}[c.nan >= c.inf],
			Look:    "the op that writes this tensor at inputs of 0: ref's guards them (xlogy, where(x > 0, …), an eps in a denominator or a log), ours does not",
		}
	case most(c.overF32):
		h = TensorHint{
			Summary: "ours overflows F32: it is Inf where |ref| exceeds F32's largest finite number 3.4e38",
			Look:    "a cast to F32 of a value ref keeps in F64",
		}
	case most(c.overF16 + c.overF32):
		h = TensorHint{
			Summary: "ours overflows F16: it is Inf (or NaN) where |ref| exceeds F16's largest finite number 65504",
			Look:    "a cast to F16, or an op run in F16 (autocast, a half-precision kernel or accumulator): scale down first or keep it in F32/BF16",
		}
	case most(c.neg) && c.nan >= c.inf:
		h = TensorHint{
			Summary: "ours is NaN where ref is negative: a sqrt, log or fractional power of a negative number",
			Look:    "the op that writes this tensor at negative inputs: ref clamps them or takes |x|, ours does not",
		}
	default:
		return nil
	}
	h.Kind = TensorHintNonFinite
	h.Evidence = fmt.Sprintf("of the %s in ours where ref is finite (in the probed elements), ref is 0 at %d, negative at %d, beyond 65504 at %d, beyond 3.4e38 at %d",
		what, c.zero, c.neg, c.overF16, c.overF32)
	return []finding{{hint: h, score: 1}}
}
