package diffing

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/refcmp/refcmp/tensor"
)

// Integer pairs with a 64-bit side hold values a float64 cannot: 2^53+1
// decodes to 2^53, so the differences computed on decoded values would
// be 0 where they are 1. For these pairs the difference statistics (max
// and mean |d|, RMSE, max |d|/|ref|, the worst element) and the
// mismatches are recomputed from the exact integers: |d| exactly (up to
// 2^64 + 2^63, beyond uint64), then rounded once to float64. The side
// statistics (min, max, mean, std) and the cosine stay on the decoded
// values, as numpy computes them.

// exactInts reports whether a pair of dtypes needs the integer path.
func exactInts(rdt, odt tensor.DType) bool {
	isInt := func(dt tensor.DType) bool { return !dt.IsFloat() && decoderFor(dt) != nil }
	wide := func(dt tensor.DType) bool { return dt == tensor.I64 || dt == tensor.U64 }
	return isInt(rdt) && isInt(odt) && (wide(rdt) || wide(odt))
}

// intAt is element i of an integer block as a sign and a magnitude.
func intAt(dt tensor.DType, b []byte, i int) (neg bool, mag uint64) {
	var v int64
	switch dt {
	case tensor.U64:
		return false, binary.LittleEndian.Uint64(b[8*i:])
	case tensor.U32:
		return false, uint64(binary.LittleEndian.Uint32(b[4*i:]))
	case tensor.U16:
		return false, uint64(binary.LittleEndian.Uint16(b[2*i:]))
	case tensor.U8:
		return false, uint64(b[i])
	case tensor.Bool:
		if b[i] != 0 {
			return false, 1
		}
		return false, 0
	case tensor.I64:
		v = int64(binary.LittleEndian.Uint64(b[8*i:]))
	case tensor.I32:
		v = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
	case tensor.I16:
		v = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	case tensor.I8:
		v = int64(int8(b[i]))
	}
	if v < 0 {
		return true, uint64(^v) + 1
	}
	return false, uint64(v)
}

// absDiff is |y - x| as the 65-bit number hi·2^64 + lo.
func absDiff(xneg bool, x uint64, yneg bool, y uint64) (hi, lo uint64) {
	if xneg != yneg {
		lo, hi = bits.Add64(x, y, 0)
		return hi, lo
	}
	if x > y {
		return 0, x - y
	}
	return 0, y - x
}

// u65Float is hi·2^64 + lo (hi 0 or 1) rounded to nearest float64.
func u65Float(hi, lo uint64) float64 {
	if hi == 0 {
		return float64(lo)
	}
	// Halve, keeping a sticky bit far below the rounding position.
	return float64(1<<63|lo>>1|lo&1) * 2
}

// u65Greater reports hi·2^64 + lo > a for a >= 0, exactly.
func u65Greater(hi, lo uint64, a float64) bool {
	switch {
	case a >= 0x1p65:
		return false
	case hi == 1 && a < 0x1p64:
		return true
	case hi == 1:
		a -= 0x1p64 // exact
	case a >= 0x1p64:
		return false
	}
	return lo > uint64(math.Floor(a)) // lo is an integer
}

// intRule is the element rule on exact integers: with modeBits the
// values differ, else |y - x| > allowance(atol, rtol, |x|).
func intRule(mode mismatchMode, kp *kparams, xn bool, x uint64, yn bool, y uint64) bool {
	if mode == modeBits {
		return xn != yn || x != y
	}
	hi, lo := absDiff(xn, x, yn, y)
	return u65Greater(hi, lo, allowance(kp.atol, kp.rtol, float64(x)))
}

// intMismatch applies intRule to element i of the block.
func intMismatch(in *blockIn, mode mismatchMode, kp *kparams, i int) bool {
	xn, x := intAt(in.rdt, in.rblk, i)
	yn, y := intAt(in.odt, in.oblk, i)
	return intRule(mode, kp, xn, x, yn, y)
}

// intBlock recomputes b's difference statistics (and, unless mode is
// modeRaw, its mismatches) from the exact integers of the block. maxAbs
// and maxRel are the running maxima.
func intBlock(in *blockIn, mode mismatchMode, kp *kparams, maxAbs, maxRel float64, b *blockOut) {
	var sad, sdd float64
	b.maxAbs, b.worst, b.maxRel, b.ed = maxAbs, -1, maxRel, 0
	if mode != modeRaw {
		b.mis, b.first = 0, -1
	}
	for i := range in.r {
		xn, x := intAt(in.rdt, in.rblk, i)
		yn, y := intAt(in.odt, in.oblk, i)
		ad := u65Float(absDiff(xn, x, yn, y))
		sad += ad
		sdd += ad * ad
		if ad > b.maxAbs {
			b.maxAbs, b.worst = ad, i
		}
		b.maxRel = max(b.maxRel, relDiff(ad, float64(x)))
		if mode != modeRaw && intRule(mode, kp, xn, x, yn, y) {
			b.mis++
			if b.first < 0 {
				b.first = i
			}
		}
	}
	b.sad, b.sdd = sad, sdd
}
