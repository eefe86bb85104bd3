package diffing

import (
	"fmt"
	"math"
	"slices"
)

// detectPosition finds a difference that is zero at index 0 of an axis
// only (index 1 already differs) and grows along it (rank correlation of
// rms|d| per index with the index >= 0.5): what a position-dependent op leaves when the positions agree
// at 0 only, e.g. RoPE with another pairing of dimensions or another base,
// or position ids offset.
func detectPosition(in *diagInput) []finding {
	if in.noise {
		return nil
	}
	shape := in.ax.shape
	best, bestRho := -1, 0.0
	var bestRMS []float64
	for a, d := range shape {
		if d < 4 || !in.ax.indexed(a) {
			continue
		}
		rms := make([]float64, d)
		for i, c := range in.ax.ax[a] {
			if c.n > 0 {
				rms[i] = math.Sqrt(c.sdd / float64(c.n))
			}
		}
		// Positions agree at 0 only: RoPE angles p·θ or a position
		// offset already differ at p = 1; a difference that is also zero
		// at index 1 is a window, a length or a mask, not a position.
		_, hi := minMax(rms)
		if hi == 0 || rms[0] > 1e-3*hi || in.ax.ax[a][0].mis > 0 || rms[1] <= 1e-3*hi {
			continue
		}
		nz := 0
		for _, v := range rms[1:] {
			if v > 1e-3*hi {
				nz++
			}
		}
		if 4*nz < 3*(len(rms)-1) {
			continue
		}
		if rho := spearman(rms); rho >= 0.5 && rho > bestRho {
			best, bestRho, bestRMS = a, rho, rms
		}
	}
	if best < 0 {
		return nil
	}
	d := len(bestRMS)
	return []finding{{
		hint: TensorHint{
			Kind:    TensorHintPosition,
			Summary: fmt.Sprintf("the difference is zero at index 0 of axis %d (size %d) and grows along it: a position-dependent op differs", best, d),
			Evidence: fmt.Sprintf("rms|d| at index 0: %s, 1: %s, %d: %s, %d: %s; rank correlation with the index %.2f",
				g(bestRMS[0]), g(bestRMS[1]), d/2, g(bestRMS[d/2]), d-1, g(bestRMS[d-1]), bestRho),
			Look: "the position encoding: RoPE's pairing of dimensions (interleaved vs half-split) or its base (theta), position ids, a position embedding",
		},
		score: bestRho, axis: best,
	}}
}

// spearman is the rank correlation of v with its index.
func spearman(v []float64) float64 {
	n := len(v)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case v[a] < v[b]:
			return -1
		case v[a] > v[b]:
			return 1
		}
		return 0
	})
	rank := make([]float64, n)
	for r, i := range idx {
		rank[i] = float64(r)
	}
	var s float64
	m := float64(n-1) / 2
	var sx, sy float64
	for i, r := range rank {
		s += (float64(i) - m) * (r - m)
		sx += (float64(i) - m) * (float64(i) - m)
		sy += (r - m) * (r - m)
	}
	if sx == 0 || sy == 0 {
		return 0
	}
	return s / math.Sqrt(sx*sy)
}
