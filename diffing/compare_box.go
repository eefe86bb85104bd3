package diffing

import (
	"math"

	"github.com/refcmp/refcmp/tensor"
)

// mismatchBox is the bounding box (per axis, the lowest and highest index)
// of the mismatching elements of one chunk. Once it covers every index
// the chunk itself spans, it cannot grow and blocks are no longer scanned,
// so tracking it costs little even when everything mismatches.
type mismatchBox struct {
	shape          []int64
	lo, hi         []int64 // lo > hi: no mismatch yet
	chunkLo, chunk []int64 // the chunk's own box (chunk = its hi)
}

// newMismatchBox starts the box of the chunk of n elements from flat
// index start.
func newMismatchBox(shape []int64, start, n int64) *mismatchBox {
	nd := len(shape)
	b := &mismatchBox{shape: shape, lo: make([]int64, nd), hi: make([]int64, nd),
		chunkLo: make([]int64, nd), chunk: make([]int64, nd)}
	stride := int64(1)
	for a := nd - 1; a >= 0; a-- {
		b.lo[a], b.hi[a] = math.MaxInt64, -1
		d := shape[a]
		q0, q1 := start/stride, (start+n-1)/stride
		if q1-q0+1 >= d || q0%d > q1%d {
			b.chunkLo[a], b.chunk[a] = 0, d-1
		} else {
			b.chunkLo[a], b.chunk[a] = q0%d, q1%d
		}
		stride *= d
	}
	return b
}

func (b *mismatchBox) full() bool {
	for a := range b.lo {
		if b.lo[a] > b.chunkLo[a] || b.hi[a] < b.chunk[a] {
			return false
		}
	}
	return true
}

// add widens the box with the block's mismatching elements (base is the
// block's flat index). It walks the block by runs of one row of the last
// axis: the outer indices are updated once per run that mismatches, the
// last axis from the run's first and last mismatch (an edge that never
// mismatches keeps the box from filling, so this runs on every block).
func (b *mismatchBox) add(in *blockIn, mode mismatchMode, kp *kparams, base int64, flags []bool) {
	blockMismatches(in, mode, kp, flags)
	b.walk(base, flags)
}

// walk widens the box with the flagged elements from flat index base on.
func (b *mismatchBox) walk(base int64, flags []bool) {
	nd := len(b.shape)
	if nd == 0 {
		return // a scalar: the box has no axes
	}
	row := b.shape[nd-1]
	idx := tensor.Unravel(base, b.shape)
	for i := 0; i < len(flags); {
		n := int(min(int64(len(flags)-i), row-idx[nd-1]))
		first, last := -1, -1
		for j, m := range flags[i : i+n] {
			if m {
				if first < 0 {
					first = j
				}
				last = j
			}
		}
		if first >= 0 {
			for a := range nd - 1 {
				b.lo[a] = min(b.lo[a], idx[a])
				b.hi[a] = max(b.hi[a], idx[a])
			}
			b.lo[nd-1] = min(b.lo[nd-1], idx[nd-1]+int64(first))
			b.hi[nd-1] = max(b.hi[nd-1], idx[nd-1]+int64(last))
		}
		i += n
		idx[nd-1] += int64(n)
		if idx[nd-1] < row {
			continue
		}
		idx[nd-1] = 0
		for a := nd - 2; a >= 0; a-- { // next row, C order
			idx[a]++
			if idx[a] < b.shape[a] {
				break
			}
			idx[a] = 0
		}
	}
}

// blockMismatches sets flags[i] for every mismatching element of the
// block, by the same rule the block kernels count.
func blockMismatches(in *blockIn, mode mismatchMode, kp *kparams, flags []bool) {
	n := len(flags)
	if mode == modeRaw {
		rsz := len(in.rblk) / n
		for i := range flags {
			flags[i] = string(in.rblk[i*rsz:(i+1)*rsz]) != string(in.oblk[i*rsz:(i+1)*rsz])
		}
		return
	}
	in.decode()
	r, o := in.r[:n], in.o[:n]
	for i, x := range r {
		y := o[i]
		switch {
		case in.ints:
			flags[i] = intMismatch(in, mode, kp, i)
		case mode == modeBits:
			flags[i] = math.Float64bits(x) != math.Float64bits(y) && !(x != x && y != y)
		case x-x == 0 && y-y == 0:
			flags[i] = math.Abs(y-x) > allowance(kp.atol, kp.rtol, math.Abs(x))
		default:
			flags[i] = !(x == y || kp.equalNaN && x != x && y != y)
		}
	}
}
