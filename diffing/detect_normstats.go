package diffing

import (
	"fmt"
	"math"
)

// detectNormStats finds a normalization whose statistics differ per row:
// ours - b = s_t·(ref - b), with one scale s_t per row (a fiber of the
// last axis) and one offset b_c per column, as LayerNorm leaves when its
// eps or its variance differs (b is its bias). It is fitted by
// alternating least squares on up to normRows sampled rows, read whole.
func detectNormStats(in *diagInput) []finding {
	shape := in.ax.shape
	nd := len(shape)
	if nd < 2 || in.ax.total.sdd <= 0 || in.noise {
		return nil // rounding noise fits a scale per row too
	}
	cols := shape[nd-1]
	rows := in.res.Numel / max(1, cols)
	if cols < 4 || rows < 4 || cols > normMaxElems/4 {
		return nil
	}
	nr := int(min(rows, normRows, normMaxElems/cols))
	r := make([][]float64, nr)
	d := make([][]float64, nr)
	for t := range nr {
		row := int64(t) * rows / int64(nr)
		r[t], d[t] = make([]float64, cols), make([]float64, cols)
		for c := range cols {
			x, y := in.rr.get(row*cols+c), in.or.get(row*cols+c)
			if x-x != 0 || y-y != 0 {
				return nil
			}
			r[t][c], d[t][c] = x, y-x
		}
	}
	// d_tc = α_t (r_tc - β_c), α = s - 1.
	alpha := make([]float64, nr)
	beta := make([]float64, cols)
	num := make([]float64, cols)
	// The sampled rows' sums, for Σ d² and the one line d = α·ref + β the
	// fit must beat.
	var line axisSum
	for t := range nr {
		for c := range cols {
			x, dd := r[t][c], d[t][c]
			line.n++
			line.sr += x
			line.sd += dd
			line.srr += x * x
			line.srd += x * dd
			line.sdd += dd * dd
		}
	}
	sdd := line.sdd
	if sdd == 0 {
		return nil
	}
	// Alternating least squares lowers the residual at every step; it
	// stops when a step lowers it by less than a part in 10^9 (the fit
	// has converged), or after 30.
	// It also stops, finding nothing, when the residual is converging
	// (each step's gain at most 0.95 of the last one's) to a limit four
	// times what the fit may leave: the geometric tail of the gains
	// cannot bring it down to a fit.
	need := (1 - broadcastMinExplained) * sdd * float64(int64(nr)*cols-int64(nr)-cols) / float64(int64(nr)*cols)
	prevSSE, prevGain := math.Inf(1), math.Inf(1)
	for it := range 30 {
		prev := alpha[0]
		var sse float64 // the residual with the new α and the old β
		for t := range nr {
			var num, den, dd float64
			for c := range cols {
				u := r[t][c] - beta[c]
				num += d[t][c] * u
				den += u * u
				dd += d[t][c] * d[t][c]
			}
			if den > 0 {
				alpha[t] = num / den
				dd -= num * num / den
			}
			sse += dd
		}
		gain := prevSSE - sse
		if it > 3 && gain <= 1e-9*prevSSE {
			break
		}
		if rho := gain / prevGain; it > 3 && rho <= 0.95 && sse-gain*rho/(1-rho) > 4*need {
			return nil
		}
		prevSSE, prevGain = sse, gain
		// β_c = Σ_t α_t(α_t r_tc - d_tc) / Σ_t α_t², summed row by row.
		var den float64
		clear(num)
		for t := range nr {
			a, rt, dt := alpha[t], r[t], d[t][:len(r[t])]
			den += a * a
			for c, x := range rt {
				num[c] += a * (a*x - dt[c])
			}
		}
		if den > 0 {
			for c := range beta {
				beta[c] = num[c] / den
			}
		}
		if it > 3 && math.Abs(alpha[0]-prev) <= 1e-12*max(1, math.Abs(prev)) {
			break
		}
	}
	var sse float64
	for t := range nr {
		for c := range cols {
			e := d[t][c] - alpha[t]*(r[t][c]-beta[c])
			sse += e * e
		}
	}
	// The offsets are a norm's bias, of ref's own scale; an offset that
	// runs away makes s_t - 1 vanish: a per-column offset, not a norm.
	var rss, bss float64
	for t := range nr {
		for c := range cols {
			rss += r[t][c] * r[t][c]
		}
	}
	for _, b := range beta {
		bss += b * b
	}
	if bss/float64(cols) > 4*rss/float64(int64(nr)*cols) {
		return nil
	}
	n := int64(nr) * cols
	expl := explained(sse, sdd, n, int64(nr)+cols)
	if expl < broadcastMinExplained {
		return nil
	}
	// And beat one line d = α·ref + β on the sampled rows.
	if !beatsSimpler(sse, int64(nr)+cols, line.affineSSE(), 2, n) {
		return nil
	}
	scales := make([]float64, nr)
	for t, a := range alpha {
		scales[t] = 1 + a
	}
	lo, hi := minMax(scales)
	mid := (lo + hi) / 2
	ev := fmt.Sprintf("fitted on %d sampled rows of %d: ours - b = s_t·(ref - b) explains %.4f%% of Σ d² (adjusted for %d parameters); s_t range %s..%s, first %s",
		nr, cols, 100*expl, int64(nr)+cols, g(lo), g(hi), fmtVals(scales, 4))
	what := "per row"
	if hi-lo <= 0.01*math.Abs(mid-1) {
		what = "the same for every row"
		if c, ok := nameFactor(mid, shape); ok && c.v != 1 {
			what += ", " + c.name
		}
	} else if math.Abs(mid-1) < 0.1 {
		what += ", all near 1 (an eps that matters where a row's variance is small)"
	}
	return []finding{{
		hint: TensorHint{
			Kind:     TensorHintNormStats,
			Summary:  fmt.Sprintf("ours is ref re-normalized along the last axis (size %d): one scale per row (%s) around a per-feature offset (the norm's bias)", cols, what),
			Evidence: ev,
			Look:     "the statistics of the normalization that writes this tensor: its eps, its variance (biased /n vs unbiased /(n-1)), or the axis it reduces over",
		},
		score: expl, axis: nd - 1, scales: scales, offsets: beta,
	}}
}

const (
	normRows     = 32
	normMaxElems = 1 << 14
)
