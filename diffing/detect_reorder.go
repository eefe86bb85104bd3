package diffing

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/refcmp/refcmp/tensor"
)

// detectReorder finds ours holding ref's values in another order:
// ours = ref.reshape(fine).permute(perm).reshape(shape), where fine is
// ref's shape with at most one axis split in two or three factors. This
// covers a reshape used where a permute was needed (heads and tokens), a
// column-major buffer read as row-major, NHWC data declared NCHW with
// the same dims, and a flatten in another axis order. Candidates are
// screened on reorderQuick sampled positions, then checked on the remap
// sample (>= 99% matching, where the identity matches at most half).
func detectReorder(in *diagInput) []finding {
	shape := in.ax.shape
	n := in.res.Numel
	if n < 4 || len(shape) == 0 || len(shape) > 6 {
		return nil
	}
	rng := rand.New(rand.NewPCG(0x0dde, uint64(n)))
	quick := make([]int64, reorderQuick)
	qo := make([]float64, reorderQuick)
	for i := range quick {
		quick[i] = rng.Int64N(n)
		qo[i] = in.or.get(quick[i])
	}
	tried := 0
	for _, fine := range fineShapes(shape) {
		var out []finding
		m := newReorderMap(fine, nil, shape) // one map, set to each permutation in turn
		permutations(len(fine), func(p []int) bool {
			if tried >= reorderMaxTries {
				return false
			}
			tried++
			m.set(p)
			same, ok := true, true
			for i, j := range quick {
				rj := m.refIndex(j)
				same = same && rj == j
				if !in.close(in.rr.get(rj), qo[i]) {
					ok = false
					break
				}
			}
			if !ok || same {
				return true
			}
			perm := slices.Clone(p)
			sc, err := checkRemap(in.rr, in.or, shape, shape, in.atol, in.rtol, in.res.Tolerance.EqualNaN, true, remapMinFrac,
				func(oi, ri []int64) bool {
					copy(ri, tensor.Unravel(m.refIndex(ravel(oi, shape)), shape))
					return true
				})
			if err != nil {
				in.rr.err = err
				return false
			}
			if sc.frac() < remapMinFrac || float64(sc.idMatched) > 0.5*float64(sc.checked) {
				return true
			}
			out = append(out, finding{
				hint: TensorHint{
					Kind:    TensorHintReordered,
					Summary: "ours holds ref's values in another order: " + reorderName(shape, fine, perm),
					Evidence: fmt.Sprintf("ours = ref.reshape(%s).permute%s.reshape(%s): %d of %d sampled positions match (%d match as is)",
						fmtIndex(fine), fmtPerm(perm), fmtIndex(shape), sc.matched, sc.checked, sc.idMatched),
					Look: "the memory layout at the boundary that writes this tensor: a reshape or view where a permute (transpose) was needed, the order of a flatten, a buffer's row/column-major or channels-last layout",
				},
				score: sc.frac(), fine: fine, perm: perm,
			})
			return false
		})
		if len(out) > 0 || in.rr.err != nil {
			return out
		}
	}
	return nil
}

const (
	reorderQuick    = 8
	reorderMaxTries = 20000
)

// reorderMap maps a flat index of ours to ref's: ours.flat[j] =
// ref.reshape(fine).permute(perm).flat[j].
type reorderMap struct {
	fine, out []int64
	perm      []int
	fi, oi    []int64
}

// newReorderMap is the map for perm (nil: set it later).
func newReorderMap(fine []int64, perm []int, shape []int64) *reorderMap {
	n := len(fine)
	m := &reorderMap{fine: fine, out: make([]int64, n), perm: make([]int, n), fi: make([]int64, n), oi: make([]int64, n)}
	if perm != nil {
		m.set(perm)
	}
	return m
}

// set makes m the map of perm (copied).
func (m *reorderMap) set(perm []int) {
	copy(m.perm, perm)
	for i, a := range perm {
		m.out[i] = m.fine[a]
	}
}

func (m *reorderMap) refIndex(j int64) int64 {
	for i := len(m.out) - 1; i >= 0; i-- {
		m.oi[i] = j % m.out[i]
		j /= m.out[i]
	}
	for i, a := range m.perm {
		m.fi[a] = m.oi[i]
	}
	return ravel(m.fi, m.fine)
}

// fineShapes lists ref's shape and its refinements: one axis split into
// two factors, then into three, at most 6 axes.
func fineShapes(shape []int64) [][]int64 {
	out := [][]int64{slices.Clone(shape)}
	for _, parts := range []int{2, 3} {
		for a, d := range shape {
			if len(shape)+parts-1 > 6 {
				continue
			}
			for _, fs := range factorizations(d, parts) {
				f := slices.Concat(shape[:a], fs, shape[a+1:])
				out = append(out, f)
			}
		}
	}
	return out
}

// factorizations lists the ordered ways to write d as a product of k
// factors > 1. The divisors come from trial division up to sqrt(d) once
// (a loop to d/2 took 0.7 s for an axis of 2^26 and would take minutes
// for a large prime), and the list stops at maxFactorizations.
func factorizations(d int64, k int) [][]int64 {
	var divs []int64 // the divisors f of d with 1 < f < d, ascending
	for i := int64(2); i*i <= d; i++ {
		if d%i == 0 {
			divs = append(divs, i)
			if j := d / i; j != i {
				divs = append(divs, j)
			}
		}
	}
	slices.Sort(divs)
	var out [][]int64
	var rec func(d int64, k int, prefix []int64)
	rec = func(d int64, k int, prefix []int64) {
		if len(out) >= maxFactorizations {
			return
		}
		if k == 1 {
			if d > 1 {
				out = append(out, append(slices.Clone(prefix), d))
			}
			return
		}
		for _, f := range divs { // a divisor of d is a divisor of the original d
			if f*2 > d {
				break
			}
			if d%f == 0 {
				rec(d/f, k-1, append(prefix, f))
			}
		}
	}
	rec(d, k, nil)
	return out
}

// maxFactorizations bounds the refinements of one axis that the reorder
// search tries.
const maxFactorizations = 512

// reorderName says what usually makes a reordering.
func reorderName(shape, fine []int64, perm []int) string {
	nd := len(fine)
	switch {
	case len(shape) == 2 && nd == 2 && slices.Equal(perm, []int{1, 0}):
		return "a column-major (Fortran-order) buffer read as row-major with the same shape"
	case nd == 4 && len(shape) == 4 && slices.Equal(perm, []int{0, 2, 3, 1}):
		return "channels-last (NHWC) data declared NCHW with the same dims"
	case nd == 4 && len(shape) == 4 && slices.Equal(perm, []int{0, 3, 1, 2}):
		return "channels-first (NCHW) data declared NHWC with the same dims"
	case nd == 4 && len(shape) == 4 && slices.Equal(perm, []int{0, 2, 1, 3}):
		return "axes 1 and 2 swapped in memory but not in the shape: a reshape where a permute was needed (e.g. heads split from [B, T, H·D] by reshape instead of view + transpose)"
	case nd > len(shape) && slices.Equal(perm, channelsLast(nd)):
		return fmt.Sprintf("a flatten in channels-last order (H, W, C) where ref flattens channels first: the axis of size %d is %s in ref", fine[1], fmtIndex(fine[1:]))
	}
	return fmt.Sprintf("a reshape/permute mismatch: ref.reshape(%s).permute%s", fmtIndex(fine), fmtPerm(perm))
}

// channelsLast is (0, 2, ..., n-1, 1).
func channelsLast(n int) []int {
	p := []int{0}
	for i := 2; i < n; i++ {
		p = append(p, i)
	}
	return append(p, 1)
}
