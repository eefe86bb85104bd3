package diffing

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// detectBroadcast finds ours - ref constant per index of one axis (a bias
// per channel, per token), or ours ≈ a_i·ref + b_i per index (a norm
// weight not applied, per-channel normalization statistics), from the
// extra pass's per-axis sums. A model must explain at least 99% of Σ d²
// (adjusted for its number of parameters), and remove 90% of what the
// same model with one value for the whole tensor leaves (beatsSimpler).
func detectBroadcast(in *diagInput) []finding {
	ax := in.ax
	shape := ax.shape
	if len(shape) == 0 || ax.total.sdd <= 0 {
		return nil
	}
	total := ax.total
	type cand struct {
		axis int
		fit  axisFit
		off  bool
		expl float64
	}
	var best *cand
	for a, d := range shape {
		if d < 2 || total.n/d < 4 || !ax.indexed(a) {
			continue
		}
		f := ax.fit(a)
		eo := explained(f.sseOff, total.sdd, total.n, d)
		ea := explained(f.sseAff, total.sdd, total.n, 2*d)
		// Each must also beat its model with one value for the whole
		// tensor: one offset (the mean of d), one line d = α·ref + β.
		if !beatsSimpler(f.sseOff, d, total.offsetSSE(), 1, total.n) {
			eo = 0
		}
		if !beatsSimpler(f.sseAff, 2*d, total.affineSSE(), 2, total.n) {
			ea = 0
		}
		c := cand{axis: a, fit: f, off: true, expl: eo}
		if eo < broadcastMinExplained && ea >= broadcastMinExplained {
			c.off, c.expl = false, ea
		}
		if c.expl >= broadcastMinExplained && (best == nil || c.expl > best.expl) {
			best = &c
		}
	}
	if best == nil {
		return nil
	}
	a, f := best.axis, best.fit
	n := shape[a]
	where := axisRole(shape, a)
	rmsD := math.Sqrt(total.sdd / float64(total.n))
	if best.off {
		lo, hi := minMax(f.offsets)
		if hi-lo < 0.1*max(math.Abs(lo), math.Abs(hi)) {
			return nil // one offset for the whole tensor: the offset hint's case
		}
		return []finding{{
			hint: TensorHint{
				Kind:    TensorHintChannelOffset,
				Summary: fmt.Sprintf("ours - ref is constant along every index of %s (one offset per index, %d of them): a missing or extra bias", where, n),
				Evidence: fmt.Sprintf("per-index offsets explain %.4f%% of Σ d² (adjusted for %d parameters); offsets range %s..%s, first %s; rms|d| %s",
					100*best.expl, n, g(lo), g(hi), fmtVals(f.offsets, 4), g(rmsD)),
				Look: fmt.Sprintf("the bias of the layer that writes this tensor (%s): missing, added twice, or another layer's", where),
			},
			score: best.expl, axis: a, offsets: f.offsets,
		}}
	}
	// Affine per index: a common scale is a normalization factor.
	lo, hi := minMax(f.scales)
	mean := (lo + hi) / 2
	// a_i near 1 that four digits do not tell apart (from each other or
	// from 1) are shown as a_i - 1.
	scales, label := f.scales, "a_i"
	if math.Abs(mean-1) < 0.1 && (g(lo) == g(hi) || g(lo) == "1" || g(hi) == "1") {
		scales, label = make([]float64, len(f.scales)), "a_i - 1"
		for i, v := range f.scales {
			scales[i] = v - 1
		}
		lo, hi = lo-1, hi-1
	}
	ev := fmt.Sprintf("per-index fits ours ≈ a_i·ref + b_i explain %.4f%% of Σ d² (adjusted for %d parameters); %s range %s..%s, first %s; b_i first %s",
		100*best.expl, 2*n, label, g(lo), g(hi), fmtVals(scales, 4), fmtVals(f.shift, 4))
	// Indices where ours is 0 (a_i and b_i 0): a normalizer that
	// overflowed, a slice never written.
	var zeroed []int
	for i, a := range f.scales {
		if math.Abs(a) < 1e-9 && math.Abs(f.shift[i]) < 1e-30+1e-9*math.Sqrt(total.srr/float64(total.n)) {
			zeroed = append(zeroed, i)
		}
	}
	if len(zeroed) > 0 {
		ev += fmt.Sprintf("; ours is 0 at %d of the %d indices (first %d): a normalizer that overflowed, or a slice never written", len(zeroed), n, zeroed[0])
	}
	lo, hi = minMax(f.scales)
	if hi-lo <= 0.01*math.Abs(mean-1) {
		if c, ok := varianceFactor(mean, in.res.Numel/n, shape); ok {
			return []finding{{
				hint: TensorHint{
					Kind:     TensorHintNormStats,
					Summary:  fmt.Sprintf("ours - b = %s × (ref - b) with one b per index of %s: the normalization's variance differs by %s", g(mean), where, c.name),
					Evidence: ev,
					Look:     "the variance of the normalization that writes this tensor: biased (/n, what LayerNorm and BatchNorm normalize with) vs unbiased (/(n-1), torch.var's default)",
				},
				score: best.expl, axis: a, scales: f.scales, offsets: f.shift,
			}}
		}
	}
	summary := fmt.Sprintf("ours ≈ a·ref + b with one (a, b) per index of %s: a per-channel weight or normalization differs", where)
	look := "a per-channel weight not applied (or applied twice), e.g. a norm's weight; or normalization statistics that differ per channel (eps; batch vs running statistics)"
	if hi-lo < 0.2 && math.Abs(mean-1) < 0.2 {
		summary = fmt.Sprintf("ours ≈ a·ref + b with one (a, b) per index of %s, a near 1: the normalization statistics differ per channel", where)
		look = "the normalization of this tensor: its eps, or batch vs running statistics (train vs eval mode)"
	}
	// A scale per index this close to 1 is also what summing each
	// index's normalizer over its N elements in another order leaves: a
	// sequential float sum drifts by up to about √N·ε of the accumulator
	// (a softmax over a 50k vocabulary, 400 ε). The accumulator is F32 (or
	// F64 for F64 data): a kernel that sums F16 in F16 is the bug, not its
	// noise. Then it is said as such, and not as a cause.
	weak := false
	if pf, ok := pairFormat(in.res); ok {
		nred := float64(in.res.Numel / n)
		accP := max(pf.p, 24)
		acc := 4 * math.Sqrt(nred) * math.Ldexp(1, 1-accP)
		blo, bhi := minMax(f.shift)
		rmsRef := math.Sqrt(total.srr / float64(total.n))
		if max(math.Abs(lo-1), math.Abs(hi-1)) <= acc && max(math.Abs(blo), math.Abs(bhi)) <= acc*rmsRef {
			weak = true
			accName := "F32"
			if accP > 24 {
				accName = "F64"
			}
			summary = fmt.Sprintf("ours ≈ a·ref per index of %s with |a - 1| ≤ %s: within the accumulation error of a sum over the %d elements of each index in %s (4·√N·ε = %s); a different summation order of a normalizer (sequential vs pairwise) leaves this, an eps or statistics bug can too",
				where, g(max(math.Abs(lo-1), math.Abs(hi-1))), int64(nred), accName, g(acc))
			look = "the normalizer's sum (softmax denominator, variance): accumulated sequentially where ref sums pairwise (numerically fine), or in a narrower type; if it is the same, the normalization's eps or statistics"
		}
	}
	return []finding{{
		hint:  TensorHint{Kind: TensorHintChannelAffine, Summary: summary, Evidence: ev, Look: look},
		score: best.expl, axis: a, scales: f.scales, offsets: f.shift, weak: weak,
	}}
}

// varianceFactor names a common scale near 1 as a biased-vs-unbiased
// variance factor (n/(n-1), its square root, or their inverses), n the
// size reduced over for per-index statistics along the axis (red: the
// other axes' product, BatchNorm's N·H·W) or a dimension of the shape.
// The factor must match the scale's distance to 1 within 2%: any scale
// near 1 is near 1 ± 1/n for some large n.
func varianceFactor(k float64, red int64, shape []int64) (namedConst, bool) {
	ns := shapeDims(shape)
	if red > 1 && !slices.Contains(ns, red) {
		ns = append(ns, red)
	}
	best, bestErr := namedConst{}, 0.02
	found := false
	for _, d := range ns {
		f := float64(d)
		how := "a dimension of the shape"
		if d == red {
			how = "the size the per-index statistics reduce over"
		}
		for _, c := range []namedConst{
			{f / (f - 1), fmt.Sprintf("n/(n-1) with n = %d, %s (unbiased vs biased variance)", d, how)},
			{(f - 1) / f, fmt.Sprintf("(n-1)/n with n = %d, %s (biased vs unbiased variance)", d, how)},
			{math.Sqrt(f / (f - 1)), fmt.Sprintf("sqrt(n/(n-1)) with n = %d, %s (unbiased vs biased std)", d, how)},
			{math.Sqrt((f - 1) / f), fmt.Sprintf("sqrt((n-1)/n) with n = %d, %s (biased vs unbiased std)", d, how)},
		} {
			if e := math.Abs(k-c.v) / math.Abs(c.v-1); e < bestErr {
				best, bestErr, found = c, e, true
			}
		}
	}
	return best, found
}

// broadcastMinExplained is the share of Σ d² a per-axis model must explain.
const broadcastMinExplained = 0.99

// axisRole names an axis and what it usually is.
func axisRole(shape []int64, a int) string {
	nd := len(shape)
	switch {
	case nd == 4 && a == 1:
		return fmt.Sprintf("axis 1 (size %d, channels in NCHW)", shape[a])
	case nd >= 2 && a == nd-1:
		return fmt.Sprintf("the last axis (size %d, features)", shape[a])
	case nd == 3 && a == 1:
		return fmt.Sprintf("axis 1 (size %d, tokens in [batch, tokens, features])", shape[a])
	}
	return fmt.Sprintf("axis %d (size %d)", a, shape[a])
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// fmtVals lists the first k values, then "…".
func fmtVals(v []float64, k int) string {
	var s []string
	for i, x := range v {
		if i == k {
			s = append(s, "…")
			break
		}
		s = append(s, g(x))
	}
	return "[" + strings.Join(s, " ") + "]"
}
