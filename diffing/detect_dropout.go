package diffing

import (
	"fmt"
	"math"
)

// detectDropout finds dropout left on in one side: that side is exactly
// zero at a random share p of the positions where the other is not, and
// the other side times one factor s elsewhere, s = 1/(1-p) as inverted
// dropout scales (or 1, a mask without the scaling). The evidence must
// show what dropout does and nothing else does: the zeros fall on
// positive and negative values alike (a ReLU or a clamp zeroes by sign),
// the share p agrees with s within its sampling error, and the scaled
// values match within the tolerance.
func detectDropout(in *diagInput) []finding {
	n := in.res.Numel
	if n < 256 {
		return nil
	}
	// Each sampled position with its flat neighbour: dropout's zeros are
	// independent of each other, a zeroed region's are not.
	var xs, ys [2][]float64
	for _, p := range in.points() {
		x, y, x1, y1 := p.r, p.o, p.r1, p.o1
		if x-x == 0 && y-y == 0 && (x != 0 || y != 0) && x1-x1 == 0 && y1-y1 == 0 {
			xs[0], ys[0] = append(xs[0], x), append(ys[0], y)
			xs[1], ys[1] = append(xs[1], x1), append(ys[1], y1)
		}
	}
	if len(xs[0]) < 256 {
		return nil
	}
	for _, oursSide := range []bool{true, false} {
		a, b := xs, ys // b is the side with dropout, a the other
		if !oursSide {
			a, b = ys, xs
		}
		if f, ok := dropoutFit(in, a, b, oursSide); ok {
			return []finding{f}
		}
	}
	return nil
}

// dropoutFit tests b = a·mask·s, mask 0 with probability p, on the
// sampled positions (a[0], b[0]) and their neighbours (a[1], b[1]).
func dropoutFit(in *diagInput, pa, pb [2][]float64, oursSide bool) (finding, bool) {
	a, b := pa[0], pb[0]
	var zeros, zeroNeg, neg, kept int
	var ratios []float64
	// Of the zeros whose neighbour is nonzero on the other side, how many
	// neighbours are zeroed too.
	var pairs, both int
	for i, x := range a {
		if x == 0 {
			continue
		}
		if b[i] == 0 && pa[1][i] != 0 {
			pairs++
			both += int(b2i(pb[1][i] == 0))
		}
		if x < 0 {
			neg++
		}
		if b[i] == 0 {
			zeros++
			if x < 0 {
				zeroNeg++
			}
			continue
		}
		kept++
		if len(ratios) < 64 {
			ratios = append(ratios, b[i]/x)
		}
	}
	nz := zeros + kept
	if nz < 256 || zeros < 8 || kept < 64 {
		return finding{}, false
	}
	p := float64(zeros) / float64(nz)
	if p > 0.9 {
		return finding{}, false
	}
	// The zeros do not depend on the sign: their share among negative
	// values is p within 4 standard errors.
	pos := nz - neg
	if neg >= 32 && pos >= 32 {
		pn := float64(zeroNeg) / float64(neg)
		pp := float64(zeros-zeroNeg) / float64(pos)
		se := math.Sqrt(p * (1 - p) * (1/float64(neg) + 1/float64(pos)))
		if math.Abs(pn-pp) > 4*se+1e-9 {
			return finding{}, false
		}
	}
	// Independent zeros: a zero's neighbour is zeroed with probability p
	// too (within 4 standard errors), not almost always.
	if pairs >= 8 {
		q := float64(both) / float64(pairs)
		if q-p > 4*math.Sqrt(p*(1-p)/float64(pairs))+1e-9 {
			return finding{}, false
		}
	}
	s := median(ratios)
	if !(s > 0) {
		return finding{}, false
	}
	// Every kept value is s times the other side's, within the tolerance
	// (scaled as the values are).
	var off int
	for i, x := range a {
		if x == 0 || b[i] == 0 {
			continue
		}
		if math.Abs(b[i]-s*x) > allowance(in.atol, in.rtol, math.Abs(s*x)) {
			off++
		}
	}
	if float64(off) > 0.01*float64(kept) {
		return finding{}, false
	}
	// s is 1/(1-p) for the sampled p (within 4 standard errors of p), or 1.
	se := math.Sqrt(p * (1 - p) / float64(nz))
	scaled := math.Abs(1-1/s-p) <= 4*se+1e-9
	if !scaled && math.Abs(s-1) > 1e-6 {
		return finding{}, false
	}
	who, other := "ours", "ref"
	if !oursSide {
		who, other = "ref", "ours"
	}
	how := fmt.Sprintf("the rest are %s × %s = 1/(1-p) for p = %s", other, g(s), g(1-1/s))
	if !scaled {
		how = fmt.Sprintf("the rest equal %s (a mask without the 1/(1-p) scaling)", other)
	}
	return finding{
		hint: TensorHint{
			Kind:    TensorHintDropout,
			Summary: fmt.Sprintf("%s looks like %s with dropout applied (p ≈ %.3g): %.3g%% of the values zeroed at random, %s", who, other, p, 100*p, how),
			Evidence: fmt.Sprintf("of %d sampled positions where %s is nonzero, %d are exactly 0 in %s (p = %.4g ± %.2g), on negative and positive values alike; %d of the %d kept differ from %s × %s beyond the tolerance",
				nz, other, zeros, who, p, se, off, kept, other, g(s)),
			Look: fmt.Sprintf("dropout running in %s: model.eval() not called, or training=True passed to a functional dropout", who),
		},
		score: 1 - float64(off)/float64(kept),
	}, true
}
