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
	// +Inf in ours where ref is above ln of F32's (F16's) largest finite
	// number, 88.72 (11.09): where an exp of ref overflows.
	expF32, expF16 int64
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
	c.expF32 += q.expF32
	c.expF16 += q.expF16
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
			if y > 0 && x > lnMaxF32 {
				c.expF32++
			}
			if y > 0 && x > lnMaxF16 {
				c.expF16++
			}
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

// ln of F32's and F16's largest finite numbers: exp overflows above them.
const (
	lnMaxF32 = 88.72283905206835
	lnMaxF16 = 11.089866488461016
)

// detectNonFinite names what the NaN and Inf values ours introduces have
// in common, when one thing covers at least 99% of them: ref is 0 there
// (0·log 0, 0/0, a log or reciprocal of 0 that ref's op guards), ref is
// beyond a narrower format's range (an overflow in F16 or F32), ref is
// above ln of F32's or F16's range with +Inf in ours (an exp that
// overflows: log-sum-exp without the max), or ref is negative (a sqrt,
// log or fractional power of a negative number).
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
	case most(c.expF32):
		h = TensorHint{
			Summary: "ours overflows an exp: it is +Inf where ref exceeds ln(F32 max) = 88.72",
			Look:    "an exp of large values: log-sum-exp or softmax without subtracting the row's max first (ref subtracts it)",
		}
	case most(c.expF16):
		h = TensorHint{
			Summary: "ours overflows an exp in F16: it is +Inf where ref exceeds ln(65504) = 11.09",
			Look:    "an exp run in F16 (autocast, a half kernel): subtract the max first, or compute it in F32",
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
	h.Evidence = fmt.Sprintf("of the %s in ours where ref is finite (in the probed elements), ref is 0 at %d, negative at %d, beyond 65504 at %d, beyond 3.4e38 at %d; +Inf where ref > 88.72 at %d, > 11.09 at %d",
		what, c.zero, c.neg, c.overF16, c.overF32, c.expF32, c.expF16)
	return []finding{{hint: h, score: 1}}
}
