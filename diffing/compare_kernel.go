package diffing

import (
	"bytes"
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/refcmp/refcmp/tensor"
)

// kparams are the element-rule constants the block kernels need.
type kparams struct {
	atol, rtol float64 // rtol is 0 for the max-abs check
	equalNaN   bool
}

// blockOut holds the statistics of one block of decoded pairs. Indices
// are positions in the block; -1 means none. Sums of scaled blocks carry
// exponents (see blockScaled): sad·2^ed and sdd·2^2ed; dot·2^(r.e+o.e),
// rr·2^2r.e, oo·2^2o.e; every exponent is 0 for an unscaled block.
type blockOut struct {
	r, o        sideBlock // the sides of the finite pairs
	rx, ox      sideBlock // finite values whose partner is not finite
	rnan, rinf  int64
	onan, oinf  int64
	pairs       int64 // pairs where both values are finite
	sad, sdd    float64
	ed          int
	dot, rr, oo float64
	maxAbs      float64 // at least the incoming running maximum
	worst       int     // element that raised maxAbs, or -1
	maxRel      float64
	mis, nfMis  int64 // mismatches; those among non-finite pairs
	first       int
	intro       int64 // ours non-finite where ref is finite
	firstIntro  int
}

// allowance is the element rule's bound atol + rtol·|ref|, each operation
// rounded to float64 (no fused multiply-add), as torch.isclose and
// numpy.isclose compute it. Every kernel, tail and rescan uses this
// rounding, so a verdict never depends on an element's position.
func allowance(atol, rtol, ax float64) float64 {
	return atol + float64(rtol*ax) // the conversion forbids fusing
}

// relCandidate reports |d| > rt·|r| for the exact product: the sign of
// rt·|r| - |d| rounded once (a fused multiply-add; a result that rounds
// to zero keeps the exact result's sign) is exact even where the product
// is subnormal, so no ratio |d|/|r| above rt escapes the rescan.
func relCandidate(rt, ax, ad float64) bool { return math.Signbit(math.FMA(rt, ax, -ad)) }

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
	mis                    int64   // elements with |d| > allowance(atol, rtol, |r|)
	relFlag                bool    // some relCandidate(maxRel, |r|, |d|)
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
		mis += b2i(ad > allowance(atol, rtol, ax))
		if ad > maxAbs {
			maxAbs = ad
		}
		if relCandidate(maxRel, ax, ad) {
			rel = true
		}
	}
	*k = kernelOut{rs: rs, rs2: rs2, os: os, os2: os2, rmin: rmin, rmax: rmax, omin: omin, omax: omax,
		sad: sad, sdd: sdd, dot: dot, maxAbs: maxAbs, mis: mis, relFlag: rel}
}

//go:generate go -C internal/asmgen run main.go -out ../../compare_kernel_amd64.s -stubs ../../compare_kernel_amd64.go -table ../../compare_asm_table_amd64.go -pkg diffing

// asmID names an assembly block kernel (0: none). A kernel reduces the
// first n&^3 elements of the raw blocks r and o into per-lane results
// (see internal/asmgen for the layout of c and out); callAsm runs it.
type asmID uint8

// Lane layout of an asmFunc's constants and results.
const (
	asmConsts  = 7 * 4
	asmResults = 14 * 4
)

// kernels are the block kernels one comparison uses.
type kernels struct {
	fused asmID // reads both dtypes' raw bytes; 0 when there is none
	f64   asmID // reads decoded float64 blocks; 0: kernelGo
}

func kernelsFor(rdt, odt tensor.DType) kernels {
	return kernels{fused: asmKernel(rdt, odt), f64: asmKernel(tensor.F64, tensor.F64)}
}

// blockIn is one block of a pair: raw bytes, and float64 buffers decoded
// on demand.
type blockIn struct {
	rblk, oblk []byte
	r, o       []float64
	rdec, odec decoder
	decoded    bool
	// ints is set for integer pairs with a 64-bit side (see exactInts),
	// whose differences come from the raw bytes of dtypes rdt and odt.
	ints     bool
	rdt, odt tensor.DType
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
	// Decode into the buffers (decode overwrites them later, if needed).
	in.rdec(in.r[:1], in.rblk[:len(in.rblk)/len(in.r)])
	in.odec(in.o[:1], in.oblk[:len(in.oblk)/len(in.o)])
	return in.r[0], in.o[0]
}

// run fills k for the block with the fastest kernel available: the
// fused assembly kernel on the raw bytes, else the float64 assembly kernel
// on the decoded block, else kernelGo; a tail of n%4 elements goes to
// kernelGo and is merged in.
func (ks kernels) run(in *blockIn, kr, ko float64, kp *kparams, maxAbs, maxRel float64, k *kernelOut) {
	n := len(in.r)
	n4 := n &^ 3
	var f asmID
	var rb, ob []byte
	switch {
	case n4 == 0:
	case ks.fused != 0 && !in.decoded:
		f, rb, ob = ks.fused, in.rblk, in.oblk
	case ks.f64 != 0:
		in.decode()
		f, rb, ob = ks.f64, float64Bytes(in.r), float64Bytes(in.o)
	}
	if f == 0 {
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
	callAsm(f, rb, ob, n4, &c[0], &out[0])
	reduceLanes(&out, k)
	if n4 == n {
		return
	}
	// The tail: decode it (if the kernel read raw bytes) and merge.
	if !in.decoded {
		rsz, osz := len(in.rblk)/n, len(in.oblk)/n
		in.rdec(in.r[n4:], in.rblk[n4*rsz:])
		in.odec(in.o[n4:], in.oblk[n4*osz:])
	}
	var t kernelOut
	kernelGo(in.r[n4:], in.o[n4:], kr, ko, kp, k.maxAbs, maxRel, &t)
	k.rs += t.rs
	k.rs2 += t.rs2
	k.os += t.os
	k.os2 += t.os2
	k.rmin, k.rmax = min(k.rmin, t.rmin), max(k.rmax, t.rmax)
	k.omin, k.omax = min(k.omin, t.omin), max(k.omax, t.omax)
	k.sad += t.sad
	k.sdd += t.sdd
	k.dot += t.dot
	k.maxAbs = max(k.maxAbs, t.maxAbs)
	k.mis += t.mis
	k.relFlag = k.relFlag || t.relFlag
}

// reduceLanes reduces an assembly kernel's lanes, in a fixed order.
func reduceLanes(out *[asmResults]uint64, k *kernelOut) {
	var v [asmResults]float64
	for i, u := range out {
		v[i] = math.Float64frombits(u)
	}
	sum := func(i int) float64 { return (v[4*i] + v[4*i+1]) + (v[4*i+2] + v[4*i+3]) }
	lo := func(i int) float64 { return min(min(v[4*i], v[4*i+1]), min(v[4*i+2], v[4*i+3])) }
	hi := func(i int) float64 { return max(max(v[4*i], v[4*i+1]), max(v[4*i+2], v[4*i+3])) }
	*k = kernelOut{
		rs: sum(0), rs2: sum(1), os: sum(2), os2: sum(3),
		rmin: lo(4), rmax: hi(5), omin: lo(6), omax: hi(7),
		sad: sum(8), sdd: sum(9), dot: sum(10), maxAbs: hi(11),
		mis:     int64(out[48] + out[49] + out[50] + out[51]),
		relFlag: (out[52]|out[53]|out[54]|out[55])>>63 != 0, // sign bits
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
// first mismatch) are located by scanning the decoded block. A block
// whose values or differences are too large or too small to square in
// float64 gets its sums from blockScaled.
//
// With known set, the caller knows every value is finite: a sum that
// overflows then means scaling, not a NaN.
func blockFinite(ks kernels, in *blockIn, kp *kparams, maxAbs, maxRel float64, b *blockOut, known bool) bool {
	n := len(in.r)
	if n == 0 {
		return false
	}
	kr, ko := in.first()
	if kr-kr != 0 || ko-ko != 0 {
		return false
	}
	// The kernels flag |d| > rt·|r| (relCandidate, exact). An element
	// whose |d|/|r| rounds above maxRel has |d|/|r| > maxRel > rt.
	rt := maxRel
	if rt > 0 {
		rt = math.Nextafter(rt, 0)
	}
	var k kernelOut
	// Seeded with 0, the kernel's maxAbs is the block's own max |d|.
	ks.run(in, kr, ko, kp, 0, rt, &k)
	// A NaN or infinity anywhere makes a sum NaN or infinite (so does an
	// overflowing sum; the slow path sorts that out).
	overflow := false
	if t := k.rs + k.os + k.rs2 + k.os2 + k.sdd + k.dot + k.sad; t-t != 0 {
		if !known {
			return false
		}
		overflow = true
	}
	fn := float64(n)
	*b = blockOut{
		r:     sideBlock{n: int64(n), sum: fn*kr + k.rs, min: k.rmin, max: k.rmax, m2: max(0, k.rs2-k.rs*k.rs/fn)},
		o:     sideBlock{n: int64(n), sum: fn*ko + k.os, min: k.omin, max: k.omax, m2: max(0, k.os2-k.os*k.os/fn)},
		pairs: int64(n),
		sad:   k.sad, sdd: k.sdd, dot: k.dot,
		rr: k.rs2 + kr*(2*k.rs+fn*kr), oo: k.os2 + ko*(2*k.os+fn*ko),
		maxAbs: max(maxAbs, k.maxAbs), worst: -1, maxRel: maxRel,
		mis: k.mis, first: -1, firstIntro: -1,
	}
	mr, mo := max(-k.rmin, k.rmax), max(-k.omin, k.omax)
	switch {
	case overflow || unsafeSquare(mr) || unsafeSquare(mo) || unsafeSquare(k.maxAbs):
		in.decode()
		blockScaled(in.r, in.o[:n], mr, mo, k.maxAbs, b)
	case b.r.m2 < k.rs2*cancelled || b.o.m2 < k.os2*cancelled:
		// The first value, the shift, lies far from the block's mean:
		// M2 = Σ(x-k)² - (Σ(x-k))²/n lost most of its digits. Two passes.
		in.decode()
		b.r = scaledSide(in.r, 0, b.r.min, b.r.max)
		b.o = scaledSide(in.o[:n], 0, b.o.min, b.o.max)
	}
	if k.maxAbs <= maxAbs && !k.relFlag && k.mis == 0 {
		return true
	}
	in.decode()
	r, o := in.r, in.o[:n]
	if k.maxAbs > maxAbs {
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
			if relCandidate(rt, ax, ad) {
				b.maxRel = max(b.maxRel, relDiff(ad, ax))
			}
		}
	}
	if k.mis > 0 {
		atol, rtol := kp.atol, kp.rtol
		for i, x := range r {
			if math.Abs(o[i]-x) > allowance(atol, rtol, math.Abs(x)) {
				b.first = i
				break
			}
		}
	}
	return true
}

// Blocks whose largest magnitude (of either side, or of the differences)
// lies outside [2^-450, 2^450] are summed scaled: there, squares summed
// over up to 2^63 elements could overflow, or underflow to subnormals.
const safeHi, safeLo = 0x1p450, 0x1p-450

// cancelled bounds the digits the shifted M2 formula may lose (8 bits)
// before blockFinite recomputes M2 with two passes.
const cancelled = 0x1p-8

func unsafeSquare(m float64) bool { return m > safeHi || m < safeLo && m != 0 }

// pow2 multiplies by 2^-e exactly (up to the rounding of a subnormal
// result) for any e a finite float64's exponent can take: 2^-e itself
// may not be a float64, so it is split in two factors.
type pow2 struct{ a, b float64 }

func scaleBy(e int) pow2 {
	if e >= -1023 {
		return pow2{math.Ldexp(1, -e), 1}
	}
	return pow2{0x1p1023, math.Ldexp(1, -e-1023)}
}

func (p pow2) of(x float64) float64 { return x * p.a * p.b }

// expOf is the exponent e with m in [2^(e-1), 2^e) (0 for 0).
func expOf(m float64) int {
	if m == 0 {
		return 0
	}
	_, e := math.Frexp(m)
	return e
}

// blockScaled recomputes the sums of a block of finite pairs with each
// side scaled by 2^-e for its largest magnitude mr, mo, and the
// differences by theirs (md). When some ours - ref overflowed (md is
// +Inf), the differences are taken as ours/2 - ref/2, scaled by 2 more.
func blockScaled(r, o []float64, mr, mo, md float64, b *blockOut) {
	b.r = scaledSide(r, expOf(mr), b.r.min, b.r.max)
	b.o = scaledSide(o, expOf(mo), b.o.min, b.o.max)
	half := md > math.MaxFloat64
	ed := expOf(md)
	if half {
		m := 0.0
		for i, x := range r {
			m = max(m, math.Abs(o[i]/2-x/2))
		}
		ed = expOf(m) + 1
	}
	sr, so, sd := scaleBy(b.r.e), scaleBy(b.o.e), scaleBy(ed)
	if half {
		sd = scaleBy(ed - 1)
	}
	var sad, sdd, dot, rr, oo float64
	for i, x := range r {
		y := o[i]
		var d float64
		if half {
			d = sd.of(y/2 - x/2)
		} else {
			d = sd.of(y - x)
		}
		xs, ys := sr.of(x), so.of(y)
		sad += math.Abs(d)
		sdd += d * d
		dot += xs * ys
		rr += xs * xs
		oo += ys * ys
	}
	b.sad, b.sdd, b.ed, b.dot, b.rr, b.oo = sad, sdd, ed, dot, rr, oo
}

// scaledSide is the side statistics of v (finite values, min mn, max mx)
// summed scaled by 2^-e, M2 by two passes.
func scaledSide(v []float64, e int, mn, mx float64) sideBlock {
	s := scaleBy(e)
	var sum float64
	for _, x := range v {
		sum += s.of(x)
	}
	mean := sum / float64(len(v))
	var m2 float64
	for _, x := range v {
		t := s.of(x) - mean
		m2 += t * t
	}
	return sideBlock{n: int64(len(v)), sum: sum, min: mn, max: mx, m2: m2, e: e}
}

// sideOf is the side statistics of a few finite values (those whose
// partner is not finite), scaled by their largest magnitude.
func sideOf(v []float64) sideBlock {
	if len(v) == 0 {
		return sideBlock{}
	}
	mn, mx := v[0], v[0]
	for _, x := range v {
		if x < mn {
			mn = x
		}
		if x > mx {
			mx = x
		}
	}
	return scaledSide(v, expOf(max(-mn, mx)), mn, mx)
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

// slowScratch is blockSlow's per-worker memory.
type slowScratch struct {
	rc, oc []float64 // the pairs where both values are finite, compacted
	idx    []int32   // their positions in the block
	rx, ox []float64 // finite values whose partner is not finite
}

// blockSlow computes b for a block with NaN or infinite values: it
// handles the non-finite pairs one by one, compacts the finite pairs and
// reduces them with the block kernels, then adds the finite values whose
// partner is not finite to the side statistics.
func blockSlow(ks kernels, r, o []float64, kp *kparams, maxAbs, maxRel float64, b *blockOut, sc *slowScratch) {
	o = o[:len(r)]
	if len(sc.rc) < len(r) {
		sc.rc = make([]float64, blockElems)
		sc.oc = make([]float64, blockElems)
		sc.idx = make([]int32, blockElems)
	}
	rc, oc, idx := sc.rc[:len(r)], sc.oc[:len(r)], sc.idx[:len(r)]
	rx, ox := sc.rx[:0], sc.ox[:0]
	var rnan, rinf, onan, oinf, mis, intro int64
	firstNF, firstIntro := -1, -1
	j := 0
	for i, x := range r {
		y := o[i]
		xf, yf := x-x == 0, y-y == 0
		if xf && yf {
			rc[j], oc[j], idx[j] = x, y, int32(i)
			j++
			continue
		}
		switch {
		case xf:
			rx = append(rx, x)
		case x != x:
			rnan++
		default:
			rinf++
		}
		switch {
		case yf:
			ox = append(ox, y)
		case y != y:
			onan++
		default:
			oinf++
		}
		// NaN matches NaN only with equalNaN, an infinity only the same
		// infinity.
		if !(x == y || kp.equalNaN && x != x && y != y) {
			mis++
			if firstNF < 0 {
				firstNF = i
			}
		}
		if xf {
			intro++
			if firstIntro < 0 {
				firstIntro = i
			}
		}
	}
	sc.rx, sc.ox = rx, ox
	*b = blockOut{maxAbs: maxAbs, maxRel: maxRel, worst: -1, first: -1}
	if j > 0 {
		in := blockIn{r: rc[:j], o: oc[:j], decoded: true}
		blockFinite(kernels{f64: ks.f64}, &in, kp, maxAbs, maxRel, b, true)
		if b.worst >= 0 {
			b.worst = int(idx[b.worst])
		}
		if b.first >= 0 {
			b.first = int(idx[b.first])
		}
	}
	if firstNF >= 0 && (b.first < 0 || firstNF < b.first) {
		b.first = firstNF
	}
	b.mis += mis
	b.nfMis = mis
	b.intro, b.firstIntro = intro, firstIntro
	b.rnan, b.rinf, b.onan, b.oinf = rnan, rinf, onan, oinf
	b.rx, b.ox = sideOf(rx), sideOf(ox)
}

// rawDiff compares two blocks of raw elements of the given size bitwise:
// the number of differing elements and the first one (-1 when equal).
func rawDiff(a, b []byte, size int) (count int64, first int) {
	if bytes.Equal(a, b) {
		return 0, -1
	}
	b = b[:len(a)]
	first = -1
	switch size {
	case 8:
		for i := 0; i+8 <= len(a); i += 8 {
			count += b2i(binary.LittleEndian.Uint64(a[i:]) != binary.LittleEndian.Uint64(b[i:]))
		}
	case 4:
		for i := 0; i+4 <= len(a); i += 4 {
			count += b2i(binary.LittleEndian.Uint32(a[i:]) != binary.LittleEndian.Uint32(b[i:]))
		}
	case 2:
		for i := 0; i+2 <= len(a); i += 2 {
			count += b2i(binary.LittleEndian.Uint16(a[i:]) != binary.LittleEndian.Uint16(b[i:]))
		}
	default:
		for i := range a {
			count += b2i(a[i] != b[i])
		}
	}
	for i := range a {
		if a[i] != b[i] {
			first = i / size
			break
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
