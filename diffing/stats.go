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

// moments accumulates count, min, max, a compensated sum and the sum of
// squared deviations from the mean (M2) of the finite values of one side.
// Blocks are reduced with a two-pass algorithm and merged with Chan et
// al.'s parallel formula, always in element order.
type moments struct {
	n        int64
	min, max float64
	sum      ksum
	mean     float64 // running mean for the M2 merge
	m2       float64
	nan, inf int64
}

func newMoments() moments { return moments{min: math.Inf(1), max: math.Inf(-1)} }

// mergeBlock merges a block of n finite values with the given sum, min,
// max and M2 (about the block's own mean sum/n).
func (m *moments) mergeBlock(n int64, sum, mn, mx, m2 float64) {
	if n == 0 {
		return
	}
	if mn < m.min {
		m.min = mn
	}
	if mx > m.max {
		m.max = mx
	}
	m.sum.add(sum)
	mb := sum / float64(n)
	if m.n == 0 {
		m.n, m.mean, m.m2 = n, mb, m2
		return
	}
	na, nb := float64(m.n), float64(n)
	tot := na + nb
	delta := mb - m.mean
	m.mean += delta * nb / tot
	m.m2 += m2 + delta*delta*na*nb/tot
	m.n += n
}

// merge merges o (later elements) into m.
func (m *moments) merge(o *moments) {
	m.nan += o.nan
	m.inf += o.inf
	if o.n == 0 {
		return
	}
	if o.min < m.min {
		m.min = o.min
	}
	if o.max > m.max {
		m.max = o.max
	}
	m.sum.add(o.sum.s)
	m.sum.add(o.sum.c)
	if m.n == 0 {
		m.n, m.mean, m.m2 = o.n, o.mean, o.m2
		return
	}
	na, nb := float64(m.n), float64(o.n)
	tot := na + nb
	delta := o.mean - m.mean
	m.mean += delta * nb / tot
	m.m2 += o.m2 + delta*delta*na*nb/tot
	m.n += o.n
}

func (m *moments) stats() SideStats {
	s := SideStats{NaN: m.nan, Inf: m.inf}
	if m.n == 0 {
		nan := tensor.Float(math.NaN())
		s.Min, s.Max, s.Mean, s.Std = nan, nan, nan, nan
		return s
	}
	s.Min, s.Max = tensor.Float(m.min), tensor.Float(m.max)
	s.Mean = tensor.Float(m.sum.sum() / float64(m.n))
	s.Std = tensor.Float(math.Sqrt(m.m2 / float64(m.n)))
	return s
}

// variance is the population variance of the finite values.
func (m *moments) variance() float64 {
	if m.n == 0 {
		return math.NaN()
	}
	return m.m2 / float64(m.n)
}
