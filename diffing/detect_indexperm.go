package diffing

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/tensor"
)

// detectIndexPerm finds the indices of one axis in another order: ours
// at index i of axis a is ref at index π(i), as is, or through one affine
// map per index (the per-channel constants of a normalization applied in
// the other order). It covers RGB read as BGR, heads or channels
// concatenated in another order, and the blocks of a fused projection
// ([gate, up], [q, k, v]) split in the other order. On a short axis
// (2..indexPermMaxDim) every ours index is matched to the ref index its
// values correlate with best on sampled fibers; on a longer one the swaps
// of 2 or 3 equal blocks are tried. Either is then checked on the remap
// sample: at least 99% of the positions match, where the identity
// matches at most half.
func detectIndexPerm(in *diagInput) []finding {
	shape := in.ax.shape
	n := in.res.Numel
	if n < 16 {
		return nil
	}
	for a, d := range shape {
		if d < 2 || n/d < 8 {
			continue
		}
		var perms [][]int64
		if d <= indexPermMaxDim {
			if p, ok := matchIndices(in, a); ok {
				perms = append(perms, p)
			}
		} else if d <= axisMaxIndexed {
			perms = blockSwaps(d)
		}
		for _, p := range perms {
			if f, ok := checkIndexPerm(in, a, p); ok {
				return []finding{f}
			}
		}
	}
	return nil
}

const (
	indexPermMaxDim = 64
	indexPermFibers = 64
)

// matchIndices pairs each ours index of axis a with the ref index whose
// values correlate best with its own over sampled fibers (r² ≥ 0.999,
// the next best under 0.99); ok when that is a permutation other than
// the identity.
func matchIndices(in *diagInput, a int) ([]int64, bool) {
	shape := in.ax.shape
	d := int(shape[a])
	stride := int64(1)
	for _, s := range shape[a+1:] {
		stride *= s
	}
	nf := in.res.Numel / int64(d)
	m := int(min(nf, indexPermFibers))
	rng := rand.New(rand.NewPCG(0x1d8, uint64(in.res.Numel)))
	R, O := make([][]float64, d), make([][]float64, d)
	for i := range d {
		R[i], O[i] = make([]float64, m), make([]float64, m)
	}
	for f := range m {
		fib := int64(f)
		if nf > indexPermFibers {
			fib = rng.Int64N(nf)
		}
		base := fib/stride*stride*int64(d) + fib%stride
		for i := range d {
			x, y := in.rr.get(base+int64(i)*stride), in.or.get(base+int64(i)*stride)
			if x-x != 0 || y-y != 0 {
				return nil, false
			}
			R[i][f], O[i][f] = x, y
		}
	}
	perm := make([]int64, d)
	used := make([]bool, d)
	moved := false
	for i := range d {
		best, second, bj := -1.0, -1.0, -1
		for j := range d {
			r2 := corr2(O[i], R[j])
			if r2 > best {
				best, second, bj = r2, best, j
			} else if r2 > second {
				second = r2
			}
		}
		if best < 0.999 || second >= 0.99 || used[bj] {
			return nil, false
		}
		used[bj] = true
		perm[i] = int64(bj)
		moved = moved || bj != i
	}
	return perm, moved
}

// corr2 is the squared correlation of x and y, 0 when either is
// constant.
func corr2(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/n, sy/n
	var sxx, syy, sxy float64
	for i := range x {
		u, v := x[i]-mx, y[i]-my
		sxx += u * u
		syy += v * v
		sxy += u * v
	}
	if sxx <= 0 || syy <= 0 {
		return 0
	}
	return sxy * sxy / (sxx * syy)
}

// blockSwaps are the orders of 2 or 3 equal blocks of an axis of d
// other than the identity, as index maps.
func blockSwaps(d int64) [][]int64 {
	var out [][]int64
	for _, k := range []int64{2, 3} {
		if d%k != 0 {
			continue
		}
		permutations(int(k), func(p []int) bool {
			m := make([]int64, d)
			for i := range d {
				b := i / (d / k)
				m[i] = int64(p[b])*(d/k) + i%(d/k)
			}
			out = append(out, m)
			return true
		})
	}
	return out
}

// checkIndexPerm checks ours[..., i, ...] = α_i·ref[..., π(i), ...] + β_i
// along axis a on the remap sample, with α, β fitted per index on it (1
// and 0 when they fit as well).
func checkIndexPerm(in *diagInput, a int, perm []int64) (finding, bool) {
	shape := in.ax.shape
	d := int(shape[a])
	rng := rand.New(rand.NewPCG(0x1d9, uint64(in.res.Numel)))
	type pt struct {
		i    int
		x, y float64 // ref at π(i), ours at i
		x0   float64 // ref at i
	}
	var pts []pt
	// On a long axis only the values as they are can match (no affine
	// fit): a map that misses more than 1% of the sample is rejected as
	// soon as it does.
	exactOnly, miss := d > indexPermMaxDim, 0
	for range hintSamples {
		j := rng.Int64N(in.res.Numel)
		idx := tensor.Unravel(j, shape)
		i := int(idx[a])
		y, x0 := in.or.get(j), in.rr.get(j)
		idx[a] = perm[i]
		x := in.rr.get(ravel(idx, shape))
		if x-x == 0 && y-y == 0 && x0-x0 == 0 {
			pts = append(pts, pt{i, x, y, x0})
			if exactOnly && math.Abs(y-x) > allowance(in.atol, in.rtol, math.Abs(x)) {
				if miss++; miss > hintSamples/100 {
					return finding{}, false
				}
			}
		}
	}
	if len(pts) < 64 {
		return finding{}, false
	}
	// On a short axis, α_i and β_i fitted per index, used when the
	// values do not match as they are.
	var alpha, beta []float64
	if d <= indexPermMaxDim {
		alpha, beta = indexFits(d, len(pts), func(k int) (int, float64, float64) { return pts[k].i, pts[k].x, pts[k].y })
	}
	affine := false
	// The identity is judged where π moves an index: a permutation of two
	// heads of eight leaves the rest as they are.
	match := func(aff bool) (mis, moved, idMis int) {
		for _, p := range pts {
			f := p.x
			if aff {
				f = alpha[p.i]*p.x + beta[p.i]
			}
			mis += int(b2i(math.Abs(p.y-f) > allowance(in.atol, in.rtol, math.Abs(f))))
			if perm[p.i] != int64(p.i) {
				moved++
				idMis += int(b2i(math.Abs(p.y-p.x0) > allowance(in.atol, in.rtol, math.Abs(p.x0))))
			}
		}
		return mis, moved, idMis
	}
	mis, moved, idMis := match(false)
	if float64(mis) > 0.01*float64(len(pts)) && alpha != nil {
		affine = true
		mis, _, _ = match(true)
	}
	if float64(mis) > 0.01*float64(len(pts)) || moved < 16 || float64(moved-idMis) > 0.5*float64(moved) {
		return finding{}, false
	}
	what := indexPermName(shape, a, perm)
	ev := fmt.Sprintf("ours[…, i, …] = ref[…, π(i), …] along axis %d with π = %s: %d of %d sampled positions match; of the %d at a moved index, %d match as is",
		a, fmtPermIndex(perm), len(pts)-mis, len(pts), moved, moved-idMis)
	sum := fmt.Sprintf("ours has the indices of axis %d (size %d) in another order: %s", a, d, what)
	if affine {
		ev = fmt.Sprintf("ours[…, i, …] = a_i·ref[…, π(i), …] + b_i along axis %d with π = %s: %d of %d sampled positions match; a_i %s, b_i %s",
			a, fmtPermIndex(perm), len(pts)-mis, len(pts), fmtVals(alpha, 4), fmtVals(beta, 4))
		sum += ", and an affine map per index (per-channel constants, e.g. a normalization's mean and std, applied in the other order)"
	}
	return finding{
		hint: TensorHint{
			Kind:     TensorHintIndexPermuted,
			Summary:  sum,
			Evidence: ev,
			Look:     "the order along that axis where this tensor is made: RGB vs BGR input, the order of a concat or of a fused projection's chunks (q/k/v, gate/up), the head order",
		},
		score: 1 - float64(mis)/float64(len(pts)),
		axis:  a,
	}, true
}

// indexFits are the least-squares y = α_i·x + β_i per index i of n
// points (α 1, β 0 where an index has too few points to fit).
func indexFits(d, n int, at func(k int) (i int, x, y float64)) (alpha, beta []float64) {
	sx, sy, sxx, sxy, cnt := make([]float64, d), make([]float64, d), make([]float64, d), make([]float64, d), make([]float64, d)
	for k := range n {
		i, x, y := at(k)
		sx[i] += x
		sy[i] += y
		sxx[i] += x * x
		sxy[i] += x * y
		cnt[i]++
	}
	alpha, beta = make([]float64, d), make([]float64, d)
	for i := range d {
		alpha[i] = 1
		if cnt[i] < 2 {
			continue
		}
		if vx := sxx[i] - sx[i]*sx[i]/cnt[i]; vx > 0 {
			alpha[i] = (sxy[i] - sx[i]*sy[i]/cnt[i]) / vx
			beta[i] = (sy[i] - alpha[i]*sx[i]) / cnt[i]
		}
	}
	return alpha, beta
}

// indexPermName says what an index order usually is.
func indexPermName(shape []int64, a int, perm []int64) string {
	d := int64(len(perm))
	rev := true
	for i, j := range perm {
		rev = rev && j == d-1-int64(i)
	}
	half := d%2 == 0
	for i, j := range perm {
		half = half && j == (int64(i)+d/2)%d
	}
	switch {
	case d == 3 && rev:
		return "reversed, RGB vs BGR channel order"
	case half && d > 2:
		return "its two halves swapped (a fused [a, b] projection split as [b, a], e.g. gate and up)"
	case rev:
		return "reversed"
	case d > indexPermMaxDim:
		return "its equal blocks in another order (the chunks of a fused projection, e.g. q/k/v)"
	}
	return "permuted"
}

// fmtPermIndex writes an index map, shortened past 16 entries; a map of
// equal blocks is written by block.
func fmtPermIndex(p []int64) string {
	if len(p) > indexPermMaxDim {
		for _, k := range []int64{2, 3} {
			d := int64(len(p))
			if d%k != 0 {
				continue
			}
			var bs []string
			ok := true
			for b := range k {
				s := p[b*(d/k)] / (d / k)
				bs = append(bs, fmt.Sprint(s))
				for i := range d / k {
					ok = ok && p[b*(d/k)+i] == s*(d/k)+i
				}
			}
			if ok {
				return fmt.Sprintf("blocks of %d in the order (%s)", d/k, strings.Join(bs, ", "))
			}
		}
	}
	ps := make([]string, 0, 17)
	for i, j := range p {
		if i == 16 {
			ps = append(ps, "…")
			break
		}
		ps = append(ps, fmt.Sprint(j))
	}
	return "(" + strings.Join(slices.Clip(ps), ", ") + ")"
}
