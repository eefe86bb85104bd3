package diffing

import "fmt"

// detectBorder finds mismatches on the border of the last two axes
// (spatial: H and W): every mismatch within w <= 3 of an edge, at least a
// third of that border mismatching, and the border at most 60% of the
// elements. Conv padding (zeros vs replicate or reflect, padding amount)
// leaves this.
func detectBorder(in *diagInput) []finding {
	if in.noise {
		return nil
	}
	ax := in.ax
	nd := len(ax.shape)
	if nd < 2 || ax.shape[nd-1] < 5 || ax.shape[nd-2] < 5 {
		return nil
	}
	var mis, n int64
	for _, b := range ax.border {
		mis += b.mis
		n += b.n
	}
	if mis < 2 {
		return nil
	}
	var bm, bn int64
	for w := 1; w <= 3; w++ {
		bm += ax.border[w-1].mis
		bn += ax.border[w-1].n
		if bm == mis && 3*bm >= bn && 10*bn <= 6*n {
			return []finding{{
				hint: TensorHint{
					Kind:    TensorHintBorder,
					Summary: fmt.Sprintf("all mismatches lie within %d of the edges of the last two axes (%d×%d)", w, ax.shape[nd-2], ax.shape[nd-1]),
					Evidence: fmt.Sprintf("%d mismatches, all in the border of width %d (%d elements, %.0f%% of them mismatch); none inside",
						mis, w, bn, 100*float64(bm)/float64(bn)),
					Look: "the padding of the op that writes this tensor: its mode (zeros vs replicate/reflect) or its amount",
				},
				score: 1,
			}}
		}
	}
	return nil
}
