package diffing

import (
	"math"

	"github.com/refcmp/refcmp/tensor"
)

// SideStats describes one side of a comparison. Min, Max, Mean and Std
// are over the finite elements only (NaN and ±Inf are counted in NaN and
// Inf instead); Std is the population standard deviation (numpy's default,
// ddof=0). With no finite element, Min, Max, Mean and Std are NaN.
type SideStats struct {
	Min  tensor.Float `json:"min"`
	Max  tensor.Float `json:"max"`
	Mean tensor.Float `json:"mean"`
	Std  tensor.Float `json:"std"`
	NaN  int64        `json:"nan"`
	Inf  int64        `json:"inf"`
}

// ksum is a Neumaier (improved Kahan) compensated sum.
type ksum struct{ s, c float64 }

func (k *ksum) add(x float64) {
	t := k.s + x
	if math.Abs(k.s) >= math.Abs(x) {
		k.c += (k.s - t) + x
	} else {
		k.c += (x - t) + k.s
	}
	k.s = t
}

func (k ksum) sum() float64 { return k.s + k.c }

// xsum is a compensated sum with an exponent of its own: its value is
// (s + c)·2^e. Blocks whose values are too large or too small to square in
// float64 are reduced scaled by a power of two (see blockScaled) and
// added here with that power, so sums of squares neither overflow nor
// underflow anywhere in the float64 range. Unscaled blocks add with e = 0,
// which costs no more than a ksum.
type xsum struct {
	k ksum
	e int
}

// add adds v·2^e.
func (x *xsum) add(v float64, e int) {
	if v == 0 {
		return
	}
	if x.k.s == 0 && x.k.c == 0 {
		x.e = e
	}
	if e > x.e {
		x.k.s, x.k.c = math.Ldexp(x.k.s, x.e-e), math.Ldexp(x.k.c, x.e-e)
		x.e = e
	}
	if e != x.e {
		v = math.Ldexp(v, e-x.e)
	}
	x.k.add(v)
}

// addX adds y.
func (x *xsum) addX(y xsum) {
	x.add(y.k.s, y.e)
	x.add(y.k.c, y.e)
}

// mant is the sum without its exponent.
func (x xsum) mant() float64 { return x.k.sum() }

// sum is the value, rounded to float64 (±Inf or 0 beyond its range).
func (x xsum) sum() float64 { return math.Ldexp(x.mant(), x.e) }

// div is x/n, rounded once from the scaled value (finite whenever the
// quotient is).
func (x xsum) div(n float64) float64 { return math.Ldexp(x.mant()/n, x.e) }

// ratio is a/b.
func ratio(a, b xsum) float64 { return math.Ldexp(a.mant()/b.mant(), a.e-b.e) }

// ldexp is math.Ldexp, skipped for the common e = 0 (where it is the
// identity): the merges of unscaled blocks call it per block.
func ldexp(x float64, e int) float64 {
	if e == 0 {
		return x
	}
	return math.Ldexp(x, e)
}

// sqrtScaled is √(v·2^e).
func sqrtScaled(v float64, e int) float64 {
	if e%2 != 0 {
		v, e = 2*v, e-1
	}
	return math.Ldexp(math.Sqrt(v), e/2)
}

// sideBlock is one block's statistics of the finite values of one side:
// count, sum·2^-e, min, max and M2·2^-2e (M2 about the block's mean).
// Unscaled blocks have e = 0.
type sideBlock struct {
	n             int64
	sum, min, max float64
	m2            float64
	e             int
}

// moments accumulates count, min, max, a compensated sum and the sum of
// squared deviations from the mean (M2) of the finite values of one side.
// Blocks are reduced with a two-pass algorithm and merged with Chan et
// al.'s parallel formula, always in element order. The sums and the
// running mean carry exponents (xsum), so that values anywhere in the
// float64 range give finite, accurate results.
type moments struct {
	n        int64
	min, max float64
	sum      xsum
	mean     float64 // running mean·2^-me, for the M2 merge
	me       int
	m2       xsum
	nan, inf int64
}

func newMoments() moments { return moments{min: math.Inf(1), max: math.Inf(-1)} }

// mergeBlock merges an unscaled block of n finite values with the given
// sum, min, max and M2 (about the block's own mean sum/n).
func (m *moments) mergeBlock(n int64, sum, mn, mx, m2 float64) {
	m.mergeSide(sideBlock{n: n, sum: sum, min: mn, max: mx, m2: m2})
}

// mergeSide merges a block's side statistics (later elements) into m.
func (m *moments) mergeSide(b sideBlock) {
	if b.n == 0 {
		return
	}
	m.minmax(b.min, b.max)
	m.sum.add(b.sum, b.e)
	var m2 xsum
	m2.add(b.m2, 2*b.e)
	m.combine(b.n, b.sum/float64(b.n), b.e, m2)
}

// minmax widens the range with < and > (so -0 does not replace 0).
func (m *moments) minmax(mn, mx float64) {
	if mn < m.min {
		m.min = mn
	}
	if mx > m.max {
		m.max = mx
	}
}

// combine merges nb values of mean mb·2^eb and M2 m2 into m (Chan et al.).
func (m *moments) combine(nb int64, mb float64, eb int, m2 xsum) {
	if m.n == 0 {
		m.n, m.mean, m.me, m.m2 = nb, mb, eb, m2
		return
	}
	e := m.me
	switch {
	case m.mean == 0:
		e = eb
	case mb != 0:
		e = max(e, eb)
	}
	ma, mb := ldexp(m.mean, m.me-e), ldexp(mb, eb-e)
	na, nbf := float64(m.n), float64(nb)
	tot := na + nbf
	delta := mb - ma
	m.mean, m.me = ma+delta*(nbf/tot), e
	m.m2.addX(m2)
	m.m2.add(delta*delta*(na*nbf/tot), 2*e)
	m.n += nb
}

// merge merges o (later elements) into m.
func (m *moments) merge(o *moments) {
	m.nan += o.nan
	m.inf += o.inf
	if o.n == 0 {
		return
	}
	m.minmax(o.min, o.max)
	m.sum.addX(o.sum)
	m.combine(o.n, o.mean, o.me, o.m2)
}

func (m *moments) stats() SideStats {
	s := SideStats{NaN: m.nan, Inf: m.inf}
	if m.n == 0 {
		nan := tensor.Float(math.NaN())
		s.Min, s.Max, s.Mean, s.Std = nan, nan, nan, nan
		return s
	}
	n := float64(m.n)
	s.Min, s.Max = tensor.Float(m.min), tensor.Float(m.max)
	s.Mean = tensor.Float(m.sum.div(n))
	s.Std = tensor.Float(sqrtScaled(max(0, m.m2.mant())/n, m.m2.e))
	return s
}
