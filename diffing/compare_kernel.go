package diffing

import (
	"bytes"
	"encoding/binary"
	"math"
)

// kparams are the element-rule constants the block kernels need.
type kparams struct {
	atol, rtol float64 // rtol is 0 for the max-abs check
	equalNaN   bool
}

// blockOut holds the statistics of one block of decoded pairs. Indices
// are positions in the block; -1 means none.
type blockOut struct {
	rn, on        int64
	rsum, osum    float64
	rmin, rmax    float64
	omin, omax    float64
	rm2, om2      float64 // about the block means
	rnan, rinf    int64
	onan, oinf    int64
	pairs         int64 // pairs where both values are finite
	sad, sdd, dot float64
	rr, oo        float64
	maxAbs        float64 // at least the incoming running maximum
	worst         int     // element that raised maxAbs, or -1
	maxRel        float64
	mis, nfMis    int64 // mismatches; those among non-finite pairs
	first         int
	intro         int64 // ours non-finite where ref is finite
	firstIntro    int
}

// b2i is compiled to a flag move, keeping the mismatch count branch-free.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// blockFinite computes b for a block in which every value is finite, and
// reports false (leaving b unspecified) when some value is not, so that
// the caller redoes the block with blockSlow. maxAbs and maxRel are the
// running maxima: worst is set only when an element exceeds maxAbs.
func blockFinite(r, o []float64, kp *kparams, maxAbs, maxRel float64, b *blockOut) bool {
	n := len(r)
	if n == 0 {
		return false
	}
	o = o[:n]

	// Pass 1: sums, min and max of both sides.
	var rs0, rs1, os0, os1 float64
	rmin, rmax := r[0], r[0]
	omin, omax := o[0], o[0]
	i := 0
	for ; i+2 <= n; i += 2 {
		x0, x1 := r[i], r[i+1]
		y0, y1 := o[i], o[i+1]
		rs0 += x0
		rs1 += x1
		os0 += y0
		os1 += y1
		if x0 < rmin {
			rmin = x0
		}
		if x0 > rmax {
			rmax = x0
		}
		if x1 < rmin {
			rmin = x1
		}
		if x1 > rmax {
			rmax = x1
		}
		if y0 < omin {
			omin = y0
		}
		if y0 > omax {
			omax = y0
		}
		if y1 < omin {
			omin = y1
		}
		if y1 > omax {
			omax = y1
		}
	}
	if i < n {
		x, y := r[i], o[i]
		rs0 += x
		os0 += y
		rmin, rmax = min(rmin, x), max(rmax, x)
		omin, omax = min(omin, y), max(omax, y)
	}
	rsum, osum := rs0+rs1, os0+os1
	// A NaN or infinity anywhere makes a sum NaN or infinite (so does an
	// overflowing sum; the slow path handles that too).
	if t := rsum + osum; t-t != 0 {
		return false
	}
	fn := float64(n)
	mr, mo := rsum/fn, osum/fn

	// Pass 2: deviations and differences.
	atol, rtol := kp.atol, kp.rtol
	var rm2, om2, sad, sdd, dot float64
	var mis int64
	worst := -1
	for i := 0; i < n; i++ {
		x, y := r[i], o[i]
		dx, dy := x-mr, y-mo
		rm2 += dx * dx
		om2 += dy * dy
		d := y - x
		ad := math.Abs(d)
		sad += ad
		sdd += d * d
		dot += x * y
		ax := math.Abs(x)
		mis += b2i(ad > atol+rtol*ax)
		if ad > maxAbs {
			maxAbs = ad
			worst = i
		}
		if ad > maxRel*ax {
			maxRel = relDiff(ad, ax)
		}
	}
	first := -1
	if mis > 0 {
		for i := 0; i < n; i++ {
			if math.Abs(o[i]-r[i]) > atol+rtol*math.Abs(r[i]) {
				first = i
				break
			}
		}
	}
	*b = blockOut{
		rn: int64(n), on: int64(n),
		rsum: rsum, osum: osum,
		rmin: rmin, rmax: rmax, omin: omin, omax: omax,
		rm2: rm2, om2: om2,
		pairs: int64(n),
		sad:   sad, sdd: sdd, dot: dot,
		rr: rm2 + fn*mr*mr, oo: om2 + fn*mo*mo,
		maxAbs: maxAbs, worst: worst, maxRel: maxRel,
		mis: mis, first: first, firstIntro: -1,
	}
	return true
}

// relDiff is |d|/|r| for the maximum relative difference: 0/0 is 0 and
// x/0 is +Inf.
func relDiff(ad, ax float64) float64 {
	if ax == 0 {
		if ad == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return ad / ax
}

// blockSlow computes b for any block, classifying every element.
func blockSlow(r, o []float64, kp *kparams, maxAbs, maxRel float64, b *blockOut) {
	o = o[:len(r)]
	*b = blockOut{
		rmin: math.Inf(1), rmax: math.Inf(-1), omin: math.Inf(1), omax: math.Inf(-1),
		maxAbs: maxAbs, maxRel: maxRel, worst: -1, first: -1, firstIntro: -1,
	}
	for i := range r {
		x, y := r[i], o[i]
		xf, yf := x-x == 0, y-y == 0
		switch {
		case xf:
			b.rn++
			b.rsum += x
			b.rmin = min(b.rmin, x)
			b.rmax = max(b.rmax, x)
		case x != x:
			b.rnan++
		default:
			b.rinf++
		}
		switch {
		case yf:
			b.on++
			b.osum += y
			b.omin = min(b.omin, y)
			b.omax = max(b.omax, y)
		case y != y:
			b.onan++
		default:
			b.oinf++
		}
		if xf && yf {
			b.pairs++
			d := y - x
			ad := math.Abs(d)
			ax := math.Abs(x)
			b.sad += ad
			b.sdd += d * d
			b.dot += x * y
			b.rr += x * x
			b.oo += y * y
			if ad > b.maxAbs {
				b.maxAbs = ad
				b.worst = i
			}
			if ad > b.maxRel*ax {
				b.maxRel = relDiff(ad, ax)
			}
			if ad > kp.atol+kp.rtol*ax {
				b.mis++
				if b.first < 0 {
					b.first = i
				}
			}
			continue
		}
		// At least one side is NaN or infinite: NaN matches NaN only with
		// equalNaN, an infinity only the same infinity.
		match := x == y || (kp.equalNaN && x != x && y != y)
		if !match {
			b.mis++
			b.nfMis++
			if b.first < 0 {
				b.first = i
			}
		}
		if xf {
			b.intro++
			if b.firstIntro < 0 {
				b.firstIntro = i
			}
		}
	}
	var mr, mo float64
	if b.rn > 0 {
		mr = b.rsum / float64(b.rn)
	}
	if b.on > 0 {
		mo = b.osum / float64(b.on)
	}
	for i := range r {
		if x := r[i]; x-x == 0 {
			b.rm2 += (x - mr) * (x - mr)
		}
		if y := o[i]; y-y == 0 {
			b.om2 += (y - mo) * (y - mo)
		}
	}
}

// rawDiff compares two blocks of raw elements of the given size bitwise:
// the number of differing elements and the first one (-1 when equal).
func rawDiff(a, b []byte, size int) (count int64, first int) {
	first = -1
	if bytes.Equal(a, b) {
		return 0, -1
	}
	n := len(a) / size
	b = b[:len(a)]
	for i := 0; i < n; i++ {
		var eq bool
		switch size {
		case 8:
			eq = binary.LittleEndian.Uint64(a[8*i:]) == binary.LittleEndian.Uint64(b[8*i:])
		case 4:
			eq = binary.LittleEndian.Uint32(a[4*i:]) == binary.LittleEndian.Uint32(b[4*i:])
		case 2:
			eq = binary.LittleEndian.Uint16(a[2*i:]) == binary.LittleEndian.Uint16(b[2*i:])
		default:
			eq = a[i] == b[i]
		}
		if !eq {
			count++
			if first < 0 {
				first = i
			}
		}
	}
	return count, first
}

// bitsDiff compares decoded values exactly: same bits, except that any
// NaN matches any NaN (payloads do not survive every conversion).
func bitsDiff(r, o []float64) (count int64, first int) {
	first = -1
	o = o[:len(r)]
	for i, x := range r {
		y := o[i]
		if math.Float64bits(x) != math.Float64bits(y) && !(x != x && y != y) {
			count++
			if first < 0 {
				first = i
			}
		}
	}
	return count, first
}
