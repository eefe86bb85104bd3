package diffing

import (
	"fmt"
	"math"
)

// detectNormAxis finds the axis along which each side sums to 1 (a
// softmax's or a normalization's axis), on up to normAxisFibers sampled
// fibers per axis: ref normalized along one axis and ours along another
// is a softmax over the wrong dimension.
func detectNormAxis(in *diagInput) []finding {
	shape := in.ax.shape
	nd := len(shape)
	if nd < 2 || in.res.Ref.Min < 0 || in.res.Ours.Min < 0 {
		return nil
	}
	sums := func(rd *elemReader, a int) bool {
		d := shape[a]
		if d < 2 || d > normMaxElems {
			return false
		}
		n := in.res.Numel / d
		stride := int64(1)
		for _, s := range shape[a+1:] {
			stride *= s
		}
		for f := range min(n, normAxisFibers) {
			fib := f * n / min(n, normAxisFibers) // fiber index: the other axes, C order
			base := fib/stride*stride*d + fib%stride
			var s float64
			for i := range d {
				s += rd.get(base + i*stride)
			}
			if math.Abs(s-1) > 1e-3 {
				return false
			}
		}
		return true
	}
	ra, oa := -1, -1
	for a := range shape {
		if ra < 0 && sums(in.rr, a) {
			ra = a
		}
		if oa < 0 && sums(in.or, a) {
			oa = a
		}
	}
	if ra < 0 || oa < 0 || ra == oa || sums(in.or, ra) {
		return nil
	}
	return []finding{{
		hint: TensorHint{
			Kind:    TensorHintNormAxis,
			Summary: fmt.Sprintf("ours sums to 1 along axis %d, ref along axis %d: a softmax (or normalization) over the wrong axis", oa, ra),
			Evidence: fmt.Sprintf("on %d sampled fibers of each axis, ref's sums along axis %d and ours's along axis %d are 1 within 1e-3; ours's along axis %d are not",
				normAxisFibers, ra, oa, ra),
			Look: fmt.Sprintf("the dim argument of the softmax that writes this tensor (dim=%d in ref, ours reduces over %d)", ra-nd, oa-nd),
		},
		score: 1, axis: oa,
	}}
}

const normAxisFibers = 16
