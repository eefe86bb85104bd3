package diffing

import (
	"fmt"
	"math"
	"slices"
)

// detectElementwise tests whether d = ours - ref is a function of ref
// alone, on elemSamples sampled elements: sorted by ref, d less its
// least-squares affine trend in ref must be close to one of its
// neighbours' (elemMinSmooth), and ref must take many distinct values
// (elemDistinct). It then
// names the pair of functions when a known formulation mismatch predicts
// ours from ref (>= 99% of Σ d² explained): ref is inverted through the
// reference function (on each monotone branch, the branch closest to ours
// kept) and the port's function applied.
func detectElementwise(in *diagInput) []finding {
	n := in.res.Numel
	if n < 64 {
		return nil
	}
	sample := in.points()
	pts := make([]elemPt, 0, len(sample))
	for _, p := range sample {
		if x, y := p.r, p.o; x-x == 0 && y-y == 0 {
			pts = append(pts, elemPt{x, y})
		}
	}
	if len(pts) < 64 {
		return nil
	}
	slices.SortFunc(pts, func(a, b elemPt) int {
		switch {
		case a.r < b.r:
			return -1
		case a.r > b.r:
			return 1
		}
		return 0
	})
	var sdd float64
	for _, p := range pts {
		sdd += (p.o - p.r) * (p.o - p.r)
	}
	if sdd == 0 {
		return nil
	}
	// A function of ref, possibly many-valued (GELU and SiLU take each
	// small negative value twice): each d is close to the d of one of its
	// neighbours in ref order, much closer than to that of other elements.
	// Summed over the elements that differ: the squared distance of each
	// d to its nearest neighbour's (in ref order) against that to unrelated
	// elements'.
	// The test runs on e = d - (α·ref + β), d less its least-squares
	// affine part: ours = a·ref + (anything unrelated), a missing
	// residual or a softmax temperature, makes d predictable from ref
	// through that trend without being a function of it; a function of
	// ref that is affine is already scaled or offset.
	alpha, beta := affineFit(pts)
	e := make([]float64, len(pts))
	for i, p := range pts {
		e[i] = p.o - p.r - (alpha*p.r + beta)
	}
	smooth, local := smoothness(e)
	// Known pairs.
	bestName, bestExpl, bestMax := "", 0.0, 0.0
	// Visit the elements in a spread order, so that a pair far off on the
	// first 64 is dropped early.
	step := 1031
	for len(pts)%step == 0 {
		step += 2
	}
	// The pairs are fitted on the first elemFitSamples of that order:
	// each point costs an inversion per branch, and a named pair must
	// explain 99% of Σ d² on them, which a thousand points test well.
	nfit := min(len(pts), elemFitSamples)
	for _, kp := range knownPairs() {
		c := &pairFit{elemPair: kp}
		var e2, d2, emax float64
		for i := range nfit {
			p := pts[i*step%len(pts)]
			// A pair far off on the first 64 points, or leaving a tenth of
			// Σ d² on the first 256 (it must leave 1%), is dropped there:
			// its share explained so far stands for it.
			if i == 64 && e2 > 0.5*d2 || i == 256 && e2 > 0.1*d2 {
				break
			}
			d2 += (p.o - p.r) * (p.o - p.r)
			pred := c.predict(p.r, p.o)
			e := p.o - pred
			if e-e != 0 {
				e = p.o - p.r
			}
			e2 += e * e
			emax = max(emax, math.Abs(e))
		}
		if ex := 1 - e2/d2; d2 > 0 && ex > bestExpl && emax > 0 {
			bestName, bestExpl, bestMax = c.name, ex, emax
		}
	}
	// When ref takes few distinct values (a lookup table, buckets, a
	// mask), neighbours in ref order are copies of one value and any
	// per-value mapping looks smooth: "a function of ref" says nothing
	// about an activation there.
	few := elemDistinct*distinctRefs(pts) < len(pts)
	if bestExpl < elemMinKnown && (smooth < elemMinSmooth || local > elemMaxLocal || in.noise || few) {
		return nil
	}
	h := TensorHint{
		Kind:    TensorHintElementwise,
		Summary: "ours - ref is a function of ref alone: an elementwise function (an activation or its approximation) differs",
		Evidence: fmt.Sprintf("on %d sampled elements sorted by ref, with d less its affine trend in ref (d ≈ %s·ref + %s) as e, the squared distance of each e to its nearest neighbour's is %.2f%% of that to unrelated elements'; no known pair of functions fits (best: %s, %.1f%%)",
			len(pts), g(alpha), g(beta), 100*(1-smooth), bestName, 100*bestExpl) +
			fmt.Sprintf("; the median distance to the nearest neighbour is %.3g of that to neighbours 16-19 places away (a function changes less from one neighbour to the next, noise as much)", local),
		Look: "the activation (or other elementwise op) that writes this tensor: its formula or approximation",
	}
	if bestExpl >= elemMinKnown {
		h.Summary = fmt.Sprintf("ours - ref is a function of ref alone: %s", bestName)
		h.Evidence = fmt.Sprintf("on %d sampled elements, inverting ref through the first and applying the second explains %.3f%% of Σ d² (max error %s)",
			nfit, 100*bestExpl, g(bestMax))
	}
	return []finding{{hint: h, score: smooth, weak: bestExpl < elemMinKnown}}
}

// smoothness is 1 - near/far over the sorted sample's values e: near
// sums the squared distance of each nonzero e to its nearest neighbour's
// (in ref order, 4 each side), far that to the nearest of 8 unrelated
// elements'. local is the median over the elements of the ratio of that
// nearest distance to the one to the nearest of the 8 neighbours 16 to
// 19 places away: a function of ref changes less from one neighbour to
// the next than over 16 places (about 1/16 as much, measured 0.01-0.04
// on activations, steep ones like log included); noise whose size
// depends on ref (so that far is large, e.g. a product of two values one
// of which is ref's factor) is about as far from the one as from the
// other (0.6-1).
func smoothness(e []float64) (smooth, local float64) {
	var near, far float64
	var ratios []float64
	const w = 4
	for i, x := range e {
		if x == 0 {
			continue
		}
		bn, bf, bm := math.Inf(1), math.Inf(1), math.Inf(1)
		for j := max(0, i-w); j <= min(len(e)-1, i+w); j++ {
			if j != i {
				bn = min(bn, math.Abs(x-e[j]))
			}
		}
		for m := range 2 * w {
			bf = min(bf, math.Abs(x-e[(i+len(e)/2+37*m)%len(e)]))
		}
		for off := 16; off < 20; off++ {
			if j := i - off; j >= 0 {
				bm = min(bm, math.Abs(x-e[j]))
			}
			if j := i + off; j < len(e) {
				bm = min(bm, math.Abs(x-e[j]))
			}
		}
		near += bn * bn
		far += bf * bf
		switch {
		case bm > 0 && !math.IsInf(bm, 1):
			ratios = append(ratios, bn/bm)
		default: // a repeated value, or too few elements: no evidence of a function
			ratios = append(ratios, 1)
		}
	}
	if far == 0 || len(ratios) == 0 {
		return 0, 1
	}
	return 1 - near/far, median(ratios)
}

const (
	elemSamples    = 4096
	elemFitSamples = 1024
	elemMinSmooth  = 0.9
	// the unnamed hint needs at least one distinct ref value per
	// elemDistinct samples
	elemDistinct = 4
	elemMinKnown = 0.99
	// elemMaxLocal bounds the median nearest-neighbour distance over the
	// distance to the neighbours 16-19 places away, for the unnamed hint
	elemMaxLocal = 0.2
)

// elemPair is a known formulation mismatch: ref computed f, ours g, of
// the same input x.
type elemPair struct {
	name     string
	f, g     func(float64) float64
	branches [][2]float64 // intervals on which f is monotone
}

// pairFit is a known pair as it is fitted: with, per branch, f at
// elemGrid+1 evenly spaced points (made on first use).
type pairFit struct {
	elemPair
	grids [][]float64
}

// elemGrid is the number of cells each branch is cut into to bracket a
// root before the iteration: one cell in 256 saves most of its steps.
const elemGrid = 256

// elemPt is a sampled pair.
type elemPt struct{ r, o float64 }

// distinctRefs counts the distinct ref values of pts (sorted by ref).
func distinctRefs(pts []elemPt) int {
	n := 0
	for i, p := range pts {
		if i == 0 || p.r != pts[i-1].r {
			n++
		}
	}
	return n
}

// affineFit is the least-squares d ≈ α·ref + β over pts.
func affineFit(pts []elemPt) (alpha, beta float64) {
	var sr, sd, srr, srd float64
	for _, q := range pts {
		d := q.o - q.r
		sr += q.r
		sd += d
		srr += q.r * q.r
		srd += q.r * d
	}
	n := float64(len(pts))
	mr, md := sr/n, sd/n
	vr := srr/n - mr*mr
	if !(vr > 0) {
		return 0, md
	}
	a := (srd/n - mr*md) / vr
	return a, md - a*mr
}

func (c *pairFit) predict(r, o float64) float64 {
	best := math.NaN()
	if c.grids == nil {
		c.grids = make([][]float64, len(c.branches))
		for k, b := range c.branches {
			c.grids[k] = make([]float64, elemGrid+1)
			for i := range c.grids[k] {
				c.grids[k][i] = c.f(b[0] + (b[1]-b[0])*float64(i)/elemGrid)
			}
		}
	}
	for k, b := range c.branches {
		lo, hi := gridCell(c.grids[k], r, b[0], b[1])
		x, ok := invert(c.f, r, lo, hi)
		if !ok {
			continue
		}
		if y := c.g(x); best != best || math.Abs(y-o) < math.Abs(best-o) {
			best = y
		}
	}
	return best
}

// gridCell narrows [lo, hi] to the cell of the grid (f at evenly spaced
// points, monotone) whose values bracket r; the whole interval when none
// does (invert then finds no root).
func gridCell(fv []float64, r, lo, hi float64) (float64, float64) {
	n := len(fv) - 1
	up := fv[n] >= fv[0]
	below := func(i int) bool { return fv[i] < r == up } // r is beyond point i
	if below(0) == below(n) {
		return lo, hi
	}
	a, b := 0, n // below(a) != below(b)
	for b-a > 1 {
		m := (a + b) / 2
		if below(m) == below(a) {
			a = m
		} else {
			b = m
		}
	}
	x := func(i int) float64 { return lo + (hi-lo)*float64(i)/float64(n) }
	return x(a), x(b)
}

// invert solves f(x) = r for x in [lo, hi] (f monotone there) by the
// Illinois variant of regula falsi, which keeps the root bracketed and
// converges superlinearly (about a tenth of bisection's evaluations, which
// dominated the detector's time), with a bisection step whenever the
// bracket does not shrink by half in two steps. It stops when the
// bracket is a few ulps wide.
func invert(f func(float64) float64, r, lo, hi float64) (float64, bool) {
	flo, fhi := f(lo)-r, f(hi)-r
	if flo*fhi > 0 || flo != flo || fhi != fhi {
		return 0, false
	}
	side, width := 0, hi-lo
	for it := range 100 {
		if flo == 0 {
			return lo, true
		}
		if fhi == 0 {
			return hi, true
		}
		if hi-lo <= 4e-16*max(math.Abs(lo), math.Abs(hi)) || hi-lo < 1e-300 {
			break
		}
		m := lo - flo*(hi-lo)/(fhi-flo)
		if it%2 == 1 {
			if hi-lo > width/2 {
				m = lo + (hi-lo)/2
			}
			width = hi - lo
		}
		if !(m > lo && m < hi) {
			m = lo + (hi-lo)/2
		}
		fm := f(m) - r
		switch {
		case fm == 0:
			return m, true
		case (fm < 0) == (flo < 0):
			lo, flo = m, fm
			if side < 0 {
				fhi /= 2
			}
			side = -1
		default:
			hi, fhi = m, fm
			if side > 0 {
				flo /= 2
			}
			side = 1
		}
	}
	return lo + (hi-lo)/2, true
}

func geluErf(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
func geluTanh(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}
func sigmoid(x float64) float64     { return 1 / (1 + math.Exp(-x)) }
func geluSigmoid(x float64) float64 { return x * sigmoid(1.702*x) }
func silu(x float64) float64        { return x * sigmoid(x) }
func hardSwish(x float64) float64   { return x * min(max(x+3, 0), 6) / 6 }
func hardSigmoid(x float64) float64 { return min(max(x/6+0.5, 0), 1) }
func quickGELU(x float64) float64   { return geluSigmoid(x) }
func softplus(x float64) float64    { return math.Log1p(math.Exp(-math.Abs(x))) + max(x, 0) }
func mish(x float64) float64        { return x * math.Tanh(softplus(x)) }
func identity(x float64) float64    { return x }
func fastSigmoid(x float64) float64 { return 0.5 + 0.5*x/(1+math.Abs(x)) }
func fastSiLU(x float64) float64    { return x * fastSigmoid(x) }
func tanhSig(x float64) float64     { return math.Tanh(x) }
func sigmoidTanh(x float64) float64 { return 0.5 * (1 + math.Tanh(x/2)) }
func erfSig(x float64) float64      { return 0.5 * (1 + math.Erf(x/math.Sqrt2)) }
func logSigmoid(x float64) float64  { return -softplus(-x) }
func expm(x float64) float64        { return math.Exp(x) }
func exp2m(x float64) float64       { return math.Exp2(x) }
func leakyReLU(x float64) float64   { return max(x, 0.01*x) }
func eluF(x float64) float64 {
	if x > 0 {
		return x
	}
	return math.Expm1(x)
}

// knownPairs are the formulation mismatches named, each way round.
func knownPairs() []elemPair {
	// Branches: the GELU/SiLU family has one minimum; split there.
	gm, sm, mm := argmin(geluErf), argmin(silu), argmin(mish)
	gtm := argmin(geluTanh)
	gsm := argmin(geluSigmoid)
	wide := [][2]float64{{-60, 60}}
	gb := [][2]float64{{gm, 60}, {-60, gm}}
	pairs := []elemPair{
		{"GELU (erf) in ref, GELU tanh approximation in ours", geluErf, geluTanh, gb},
		{"GELU tanh approximation in ref, GELU (erf) in ours", geluTanh, geluErf, [][2]float64{{gtm, 60}, {-60, gtm}}},
		{"GELU (erf) in ref, x·sigmoid(1.702x) (quick GELU) in ours", geluErf, quickGELU, gb},
		{"x·sigmoid(1.702x) (quick GELU) in ref, GELU (erf) in ours", geluSigmoid, geluErf, [][2]float64{{gsm, 60}, {-60, gsm}}},
		{"GELU (erf) in ref, SiLU in ours", geluErf, silu, gb},
		{"SiLU in ref, GELU (erf) in ours", silu, geluErf, [][2]float64{{sm, 60}, {-60, sm}}},
		{"SiLU in ref, GELU tanh approximation in ours", silu, geluTanh, [][2]float64{{sm, 60}, {-60, sm}}},
		{"SiLU in ref, hard-swish in ours", silu, hardSwish, [][2]float64{{sm, 60}, {-60, sm}}},
		{"SiLU in ref, Mish in ours", silu, mish, [][2]float64{{sm, 60}, {-60, sm}}},
		{"SiLU in ref, SiLU with the fast sigmoid 0.5 + 0.5x/(1+|x|) in ours", silu, fastSiLU, [][2]float64{{sm, 60}, {-60, sm}}},
		{"sigmoid in ref, the fast sigmoid 0.5 + 0.5x/(1+|x|) in ours", sigmoid, fastSigmoid, wide},
		{"Mish in ref, SiLU in ours", mish, silu, [][2]float64{{mm, 60}, {-60, mm}}},
		{"sigmoid in ref, hard-sigmoid in ours", sigmoid, hardSigmoid, wide},
		{"sigmoid in ref, 0.5·(1 + tanh(x/2)) in ours", sigmoid, sigmoidTanh, wide},
		{"sigmoid in ref, Φ(x) (erf) in ours", sigmoid, erfSig, wide},
		{"sigmoid in ref, tanh in ours", sigmoid, tanhSig, wide},
		{"tanh in ref, sigmoid in ours", tanhSig, sigmoid, wide},
		{"exp in ref, exp2 in ours", expm, exp2m, wide},
		{"exp2 in ref, exp in ours", exp2m, expm, wide},
		{"ELU in ref, leaky ReLU in ours", eluF, leakyReLU, wide},
		{"log-sigmoid in ref, identity in ours", logSigmoid, identity, wide},
	}
	return pairs
}

// argmin is the minimum of a function with one minimum in [-5, 1]
// (golden section).
func argmin(f func(float64) float64) float64 {
	a, b := -5.0, 1.0
	phi := (math.Sqrt(5) - 1) / 2
	for range 100 {
		c, d := b-phi*(b-a), a+phi*(b-a)
		if f(c) < f(d) {
			b = d
		} else {
			a = c
		}
	}
	return (a + b) / 2
}
