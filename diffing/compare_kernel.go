package diffing

import (
	"bytes"
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/refcmp/refcmp/safetensors"
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

// kernelOut is what a block kernel computes over a block of finite
// pairs. Sums about the shifts kr and ko (the block's first values) keep
// the variance accurate: M2 = Σ(x-k)² - (Σ(x-k))²/n.
type kernelOut struct {
	rs, rs2, os, os2       float64 // Σ(r-kr), Σ(r-kr)², Σ(o-ko), Σ(o-ko)²
	rmin, rmax, omin, omax float64
	sad, sdd, dot          float64 // Σ|d|, Σd², Σ r·o
	maxAbs                 float64 // max(incoming maxAbs, max |d|)
	mis                    int64   // elements with |d| > atol + rtol·|r|
	relFlag                bool    // some |d| > maxRel·|r|
}

// kernelGo is the portable block kernel. Its results are meaningful only
// when every value is finite, which the caller checks from the sums.
func kernelGo(r, o []float64, kr, ko float64, kp *kparams, maxAbs, maxRel float64, k *kernelOut) {
	o = o[:len(r)]
	var rs, rs2, os, os2 float64
	rmin, rmax, omin, omax := kr, kr, ko, ko
	for i, x := range r {
		y := o[i]
		dx, dy := x-kr, y-ko
		rs += dx
		rs2 += dx * dx
		os += dy
		os2 += dy * dy
		if x < rmin {
			rmin = x
		}
		if x > rmax {
			rmax = x
		}
		if y < omin {
			omin = y
		}
		if y > omax {
			omax = y
		}
	}
	atol, rtol := kp.atol, kp.rtol
	var sad, sdd, dot float64
	var mis int64
	rel := false
	for i, x := range r {
		y := o[i]
		d := y - x
		ad := math.Abs(d)
		sad += ad
		sdd += d * d
		dot += x * y
		ax := math.Abs(x)
		mis += b2i(ad > atol+rtol*ax)
		if ad > maxAbs {
			maxAbs = ad
		}
		if ad > maxRel*ax {
			rel = true
		}
	}
	*k = kernelOut{rs: rs, rs2: rs2, os: os, os2: os2, rmin: rmin, rmax: rmax, omin: omin, omax: omax,
		sad: sad, sdd: sdd, dot: dot, maxAbs: maxAbs, mis: mis, relFlag: rel}
}

// asmFunc is an assembly block kernel: it reduces the first n&^3
// elements of the raw blocks r and o into per-lane results (see
// internal/asmgen for the layout of c and out).
type asmFunc func(r, o []byte, n int, c *uint64, out *uint64)

// Lane layout of an asmFunc's constants and results.
const (
	asmConsts  = 7 * 4
	asmResults = 14 * 4
)

// kernels are the block kernels one comparison uses.
type kernels struct {
	fused asmFunc // reads both dtypes' raw bytes; nil when there is none
	f64   asmFunc // reads decoded float64 blocks; nil: kernelGo
}

func kernelsFor(rdt, odt safetensors.DType) kernels {
	return kernels{fused: asmKernel(rdt, odt), f64: asmKernel(safetensors.F64, safetensors.F64)}
}

// blockIn is one block of a pair: raw bytes, and float64 buffers decoded
// on demand.
type blockIn struct {
	rblk, oblk []byte
	r, o       []float64
	rdec, odec decoder
	decoded    bool
}

func (in *blockIn) decode() {
	if !in.decoded {
		in.rdec(in.r, in.rblk)
		in.odec(in.o, in.oblk)
		in.decoded = true
	}
}

// first returns the first element of each side.
func (in *blockIn) first() (float64, float64) {
	if in.decoded {
		return in.r[0], in.o[0]
	}
	var a, b [1]float64
	in.rdec(a[:], in.rblk[:len(in.rblk)/len(in.r)])
	in.odec(b[:], in.oblk[:len(in.oblk)/len(in.o)])
	return a[0], b[0]
}

// runKernel fills k for the block with the fastest kernel available.
func (ks kernels) run(in *blockIn, kr, ko float64, kp *kparams, maxAbs, maxRel float64, k *kernelOut) {
	n := len(in.r)
	var f asmFunc
	var rb, ob []byte
	switch {
	case ks.fused != nil && n%4 == 0:
		f, rb, ob = ks.fused, in.rblk, in.oblk
	case ks.f64 != nil && n%4 == 0:
		in.decode()
		f, rb, ob = ks.f64, float64Bytes(in.r), float64Bytes(in.o)
	default:
		in.decode()
		kernelGo(in.r, in.o, kr, ko, kp, maxAbs, maxRel, k)
		return
	}
	var c [asmConsts]uint64
	var out [asmResults]uint64
	for l := 0; l < 4; l++ {
		c[l] = math.Float64bits(kr)
		c[4+l] = math.Float64bits(ko)
		c[8+l] = math.Float64bits(kp.atol)
		c[12+l] = math.Float64bits(kp.rtol)
		c[16+l] = math.Float64bits(maxRel)
		c[20+l] = 1<<63 - 1
		c[24+l] = math.Float64bits(maxAbs)
	}
	f(rb, ob, n, &c[0], &out[0])
	// Reduce the lanes in a fixed order.
	sum := func(i int) float64 {
		v := out[4*i : 4*i+4]
		return (math.Float64frombits(v[0]) + math.Float64frombits(v[1])) + (math.Float64frombits(v[2]) + math.Float64frombits(v[3]))
	}
	red := func(i int, op func(a, b float64) float64) float64 {
		v := out[4*i : 4*i+4]
		return op(op(math.Float64frombits(v[0]), math.Float64frombits(v[1])), op(math.Float64frombits(v[2]), math.Float64frombits(v[3])))
	}
	fmin := func(a, b float64) float64 { return min(a, b) }
	fmax := func(a, b float64) float64 { return max(a, b) }
	*k = kernelOut{
		rs: sum(0), rs2: sum(1), os: sum(2), os2: sum(3),
		rmin: red(4, fmin), rmax: red(5, fmax), omin: red(6, fmin), omax: red(7, fmax),
		sad: sum(8), sdd: sum(9), dot: sum(10), maxAbs: red(11, fmax),
		mis:     int64(out[48] + out[49] + out[50] + out[51]),
		relFlag: out[52]|out[53]|out[54]|out[55] != 0,
	}
}

// float64Bytes views a float64 slice as its bytes (little-endian hosts;
// the kernels exist only for amd64).
func float64Bytes(f []float64) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 8*len(f))
}

// blockFinite computes b for a block in which every value is finite, and
// reports false (leaving b unspecified) when some value is not, so that
// the caller redoes the block with blockSlow. maxAbs and maxRel are the
// running maxima: worst is set only when an element exceeds maxAbs.
// The rare events (a new maximum, a relative-difference candidate, the
// first mismatch) are located by scanning the decoded block.
func blockFinite(ks kernels, in *blockIn, kp *kparams, maxAbs, maxRel float64, b *blockOut) bool {
	n := len(in.r)
	if n == 0 {
		return false
	}
	kr, ko := in.first()
	if t := kr + ko; t-t != 0 {
		return false
	}
	var k kernelOut
	ks.run(in, kr, ko, kp, maxAbs, maxRel, &k)
	// A NaN or infinity anywhere makes a sum NaN or infinite (so does an
	// overflowing sum; the slow path handles that too).
	if t := k.rs + k.os + k.rs2 + k.os2 + k.sdd + k.dot; t-t != 0 {
		return false
	}
	fn := float64(n)
	*b = blockOut{
		rn: int64(n), on: int64(n),
		rsum: fn*kr + k.rs, osum: fn*ko + k.os,
		rmin: k.rmin, rmax: k.rmax, omin: k.omin, omax: k.omax,
		rm2: max(0, k.rs2-k.rs*k.rs/fn), om2: max(0, k.os2-k.os*k.os/fn),
		pairs: int64(n),
		sad:   k.sad, sdd: k.sdd, dot: k.dot,
		rr: k.rs2 + kr*(2*k.rs+fn*kr), oo: k.os2 + ko*(2*k.os+fn*ko),
		maxAbs: maxAbs, worst: -1, maxRel: maxRel,
		mis: k.mis, first: -1, firstIntro: -1,
	}
	if k.maxAbs <= maxAbs && !k.relFlag && k.mis == 0 {
		return true
	}
	in.decode()
	r, o := in.r, in.o[:n]
	if k.maxAbs > maxAbs {
		b.maxAbs = k.maxAbs
		for i, x := range r {
			if math.Abs(o[i]-x) == k.maxAbs {
				b.worst = i
				break
			}
		}
	}
	if k.relFlag {
		for i, x := range r {
			ad, ax := math.Abs(o[i]-x), math.Abs(x)
			if ad > b.maxRel*ax {
				b.maxRel = relDiff(ad, ax)
			}
		}
	}
	if k.mis > 0 {
		atol, rtol := kp.atol, kp.rtol
		for i, x := range r {
			if math.Abs(o[i]-x) > atol+rtol*math.Abs(x) {
				b.first = i
				break
			}
		}
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
