// Command asmgen generates diffing's AVX2 block kernels with avo:
//
//	cd diffing && go generate
//
// (see the //go:generate line in compare_kernel.go). Besides the assembly
// and its Go declarations it writes the dispatch table
// (compare_asm_table_amd64.go: asmKind and callAsm) from the same list of
// kinds, so the two cannot disagree. TestKernelsGenerated regenerates
// into a temporary directory and fails when the committed files differ.
//
// It is a module of its own, so that avo and its dependencies stay out of
// refcmp's build.
//
// One kernel per pair of input kinds (F64, F32, BF16, F16 on each side)
// reads the raw little-endian bytes of a block, converts four elements at
// a time to float64 and accumulates, per lane, what the portable kernel
// (kernelGo in compare_kernel.go) computes. Each kernel makes two passes
// over the block (it is in L1): the first for the two sides' sums, squared
// sums about the shifts, minima and maxima; the second for the differences.
// The lanes are reduced in Go, in a fixed order.
//
// Constants c (uint64 lanes, 4 per value): kr, ko, atol, rtol, maxRel,
// absmask, maxAbs. Output out (4 lanes each): rs, rs2, os, os2, rmin,
// rmax, omin, omax, sad, sdd, dot, maxAbs, mis (int64 counts), rel (sign
// bits).
//
// The element rule's allowance atol + rtol·|r| is a multiply and an add,
// each rounded (no FMA), as in torch and numpy and in the Go code
// (allowance). The relative-difference flag is the sign of
// maxRel·|r| - |d| rounded once (an FMA), exact as relCandidate is.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// kind is an input element type the kernels read directly.
type kind struct {
	name   string
	stride int // bytes per 4 elements
}

var kinds = []kind{{"F64", 32}, {"F32", 16}, {"BF16", 8}, {"F16", 8}}

// load converts the 4 elements at m to float64 lanes of dst.
func load(k kind, m Mem, dst VecVirtual) {
	switch k.name {
	case "F64":
		VMOVUPD(m, dst)
	case "F32":
		VCVTPS2PD(m, dst)
	case "BF16":
		x := XMM()
		VPMOVZXWD(m, x)
		VPSLLD(Imm(16), x, x)
		VCVTPS2PD(x, dst)
	case "F16":
		x := XMM()
		VCVTPH2PS(m, x)
		VCVTPS2PD(x, dst)
	}
}

// loadWide loads 8 elements (4, copied to both halves, with half set) of
// a kind narrower than F64 at m as float32 lanes of dst.
func loadWide(k kind, m Mem, dst VecVirtual, half bool) {
	x := dst.AsX()
	switch {
	case k.name == "F32" && half:
		VMOVUPS(m, x)
	case k.name == "F32":
		VMOVUPS(m, dst)
	case k.name == "BF16" && half:
		VPMOVZXWD(m, x)
		VPSLLD(Imm(16), x, x)
	case k.name == "BF16":
		VPMOVZXWD(m, dst)
		VPSLLD(Imm(16), dst, dst)
	case k.name == "F16" && half:
		VCVTPH2PS(m, x)
	case k.name == "F16":
		VCVTPH2PS(m, dst)
	}
	if half {
		VINSERTF128(Imm(1), x, dst, dst)
	}
}

// initRange sets a side's minimum and maximum lanes to the shift at kc
// (float32 lanes for a kind narrower than F64: the shift is one of its
// values, so it converts exactly).
func initRange(k kind, kc Mem, mn, mx VecVirtual) {
	if k.name == "F64" {
		VMOVUPD(kc, mn)
		VMOVUPD(mn, mx)
		return
	}
	VCVTPD2PSY(kc, mn.AsX())
	VINSERTF128(Imm(1), mn.AsX(), mn, mn)
	VMOVUPS(mn, mx)
}

// finishRange turns float32 range lanes into float64 ones (4 each).
func finishRange(k kind, mn, mx VecVirtual) {
	if k.name == "F64" {
		return
	}
	for _, p := range []struct {
		v  VecVirtual
		op func(...Op)
	}{{mn, VMINPD}, {mx, VMAXPD}} {
		t := YMM()
		VEXTRACTF128(Imm(1), p.v, t.AsX())
		VCVTPS2PD(t.AsX(), t)
		VCVTPS2PD(p.v.AsX(), p.v)
		p.op(t, p.v, p.v)
	}
}

// Offsets (bytes) in c and out.
const (
	cKr, cKo, cAtol, cRtol, cMaxRel, cAbs, cMaxAbs = 0, 32, 64, 96, 128, 160, 192
)

// kernel writes the kernel for ref kind rk and ours kind ok. Each pass
// takes 8 elements per iteration, in two groups of 4 with accumulators
// of their own for the sums (whose adds and FMAs would otherwise wait on
// each other's latency); an odd group of 4 at the end goes to the first
// set. The two sets are added, in that order, before the lanes are
// stored, so the order of the sums is fixed.
func kernel(rk, ok kind) {
	name := fmt.Sprintf("kernel%s%sAVX2", rk.name, ok.name)
	TEXT(name, NOSPLIT, "func(r, o []byte, n int, c *uint64, out *uint64)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s reduces the first n&^3 elements of r (%s) and o (%s).", name, rk.name, ok.name))
	rp := Load(Param("r").Base(), GP64())
	op := Load(Param("o").Base(), GP64())
	n := Load(Param("n"), GP64())
	cp := Mem{Base: Load(Param("c"), GP64())}
	outp := Mem{Base: Load(Param("out"), GP64())}
	SHRQ(Imm(2), n) // groups of 4

	// loop runs body over the groups of 4: body(false, r, o) takes two
	// at r and o (the first into the first set of sums, the second into
	// the second), body(true, r, o) the odd last one (into the first set).
	loop := func(pass string, body func(odd bool, r, o Mem)) {
		i := GP64()
		r, o := GP64(), GP64()
		MOVQ(rp, r)
		MOVQ(op, o)
		MOVQ(n, i)
		SHRQ(Imm(1), i)
		JZ(LabelRef(name + "_" + pass + "odd"))
		Label(name + "_" + pass)
		body(false, Mem{Base: r}, Mem{Base: o})
		ADDQ(Imm(uint64(2*rk.stride)), r)
		ADDQ(Imm(uint64(2*ok.stride)), o)
		DECQ(i)
		JNZ(LabelRef(name + "_" + pass))
		Label(name + "_" + pass + "odd")
		TESTQ(U32(1), n)
		JZ(LabelRef(name + "_" + pass + "done"))
		body(true, Mem{Base: r}, Mem{Base: o})
		Label(name + "_" + pass + "done")
	}
	zero := func(vs ...VecVirtual) {
		for _, z := range vs {
			VXORPD(z, z, z)
		}
	}
	// fold adds the second set into the first.
	fold := func(a, b []VecVirtual) {
		for k := range a {
			VADDPD(b[k], a[k], a[k])
		}
	}

	// Pass 1: each side's statistics. A side narrower than F64 keeps its
	// minimum and maximum as float32 lanes, 8 at a time (the conversion
	// is exact and keeps the order), which halves those instructions.
	rs, rs2, os, os2 := []VecVirtual{YMM(), YMM()}, []VecVirtual{YMM(), YMM()}, []VecVirtual{YMM(), YMM()}, []VecVirtual{YMM(), YMM()}
	rmin, rmax, omin, omax := YMM(), YMM(), YMM(), YMM()
	zero(rs[0], rs[1], rs2[0], rs2[1], os[0], os[1], os2[0], os2[1])
	initRange(rk, cp.Offset(cKr), rmin, rmax)
	initRange(ok, cp.Offset(cKo), omin, omax)
	// side folds 8 elements (4 when odd) of one side at m into its sums
	// about the shift at kc and its range.
	side := func(k kind, m Mem, kc Mem, odd bool, mn, mx VecVirtual, s1, s2 []VecVirtual) {
		var v [2]VecVirtual
		if k.name == "F64" {
			v[0] = YMM()
			load(k, m, v[0])
			VMINPD(v[0], mn, mn)
			VMAXPD(v[0], mx, mx)
			if !odd {
				v[1] = YMM()
				load(k, m.Offset(k.stride), v[1])
				VMINPD(v[1], mn, mn)
				VMAXPD(v[1], mx, mx)
			}
		} else {
			w := YMM()
			loadWide(k, m, w, odd)
			VMINPS(w, mn, mn)
			VMAXPS(w, mx, mx)
			v[0] = YMM()
			VCVTPS2PD(w.AsX(), v[0])
			if !odd {
				v[1] = YMM()
				VEXTRACTF128(Imm(1), w, v[1].AsX())
				VCVTPS2PD(v[1].AsX(), v[1])
			}
		}
		for j, x := range v {
			if x == nil {
				continue
			}
			VSUBPD(kc, x, x)
			VADDPD(x, s1[j], s1[j])
			VFMADD231PD(x, x, s2[j])
		}
	}
	loop("p1", func(odd bool, r, o Mem) {
		side(rk, r, cp.Offset(cKr), odd, rmin, rmax, rs, rs2)
		side(ok, o, cp.Offset(cKo), odd, omin, omax, os, os2)
	})
	fold([]VecVirtual{rs[0], rs2[0], os[0], os2[0]}, []VecVirtual{rs[1], rs2[1], os[1], os2[1]})
	finishRange(rk, rmin, rmax)
	finishRange(ok, omin, omax)
	for k, v := range []VecVirtual{rs[0], rs2[0], os[0], os2[0], rmin, rmax, omin, omax} {
		VMOVUPD(v, outp.Offset(32*k))
	}

	// Pass 2: the differences.
	sad, sdd, dot := []VecVirtual{YMM(), YMM()}, []VecVirtual{YMM(), YMM()}, []VecVirtual{YMM(), YMM()}
	maxAbs, mis, rel := YMM(), YMM(), YMM()
	zero(sad[0], sad[1], sdd[0], sdd[1], dot[0], dot[1], mis, rel)
	VMOVUPD(cp.Offset(cMaxAbs), maxAbs)
	// group folds the 4 elements at r and o into set s of the sums.
	group := func(s int, r, o Mem) {
		x, y, d, t := YMM(), YMM(), YMM(), YMM()
		load(rk, r, x)
		load(ok, o, y)
		VSUBPD(x, y, d)               // d = y - x
		VFMADD231PD(y, x, dot[s])     // dot += x*y
		VFMADD231PD(d, d, sdd[s])     // sdd += d*d
		VANDPD(cp.Offset(cAbs), d, d) // |d|
		VADDPD(d, sad[s], sad[s])
		VMAXPD(d, maxAbs, maxAbs)
		VANDPD(cp.Offset(cAbs), x, x)  // |x|
		VMULPD(cp.Offset(cRtol), x, t) // rtol*|x|, rounded
		VADDPD(cp.Offset(cAtol), t, t) // t = atol + rtol*|x|, rounded
		VCMPPD(Imm(0x1e), t, d, t)     // |d| > t
		VPSUBQ(t, mis, mis)
		VFMSUB231PD(cp.Offset(cMaxRel), x, d) // d = maxRel*|x| - |d|, rounded once
		VORPD(d, rel, rel)                    // sign bit: |d| > maxRel*|x|
	}
	loop("p2", func(odd bool, r, o Mem) {
		group(0, r, o)
		if !odd {
			group(1, r.Offset(rk.stride), o.Offset(ok.stride))
		}
	})
	fold([]VecVirtual{sad[0], sdd[0], dot[0]}, []VecVirtual{sad[1], sdd[1], dot[1]})
	for k, v := range []VecVirtual{sad[0], sdd[0], dot[0], maxAbs, mis, rel} {
		VMOVUPD(v, outp.Offset(32*(8+k)))
	}
	VZEROUPPER()
	RET()
}

// Lane layout of the diagnosis pass's kernels (offsets in bytes of c and
// out, 4 lanes of 8 bytes each).
const (
	sAbs, sAtol, sRtol, sOnes = 0, 32, 64, 96 // segmentAVX2's c
)

const (
	bAbs, bBias, bLog, bFirst = 0, 32, 64, 96 // binsAVX2's c
)

const (
	lAbs, lExp, lEmin, lScale, lOnes     = 0, 32, 64, 96, 128 // lowAVX2's c
	lAtol, lRtol, lMinNormal, lMaxFinite = 160, 192, 224, 256
)

// groups runs body over the n/4 groups of 4 float64 elements (n a
// register, consumed): i is the byte offset of the group, 32 apart.
func groups(name string, n Register, body func(i Register)) {
	i := GP64()
	XORQ(i, i)
	SHRQ(Imm(2), n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	body(i)
	ADDQ(Imm(32), i)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
}

// segment writes segmentAVX2, the diagnosis pass's loop over a finite row
// segment (axisStats.segment): for each element x of r and y of o, with
// d = y - x and mis = 1 when |d| > atol + rtol·|x| (rounded as allowance
// rounds), it adds mis, x, d, x·x, x·d, d·d to the element's column sums
// (cm, csr, csd, crr, crd, cdd) and mis to bm, and the same six to lane
// e%4 of the row's sums (out). Products and sums are rounded one by one
// (no FMA), as the portable twin segmentLanes computes them.
func segment() {
	name := "segmentAVX2"
	TEXT(name, NOSPLIT, "func(r, o, cm, csr, csd, crr, crd, cdd, bm []float64, c *uint64, out *[24]float64)")
	Pragma("noescape")
	Doc(name + " adds the first len(r)&^3 elements of a finite row segment to the column sums and to out's lanes (see segmentLanes).")
	var ptr []Register
	for _, p := range []string{"r", "o", "cm", "csr", "csd", "crr", "crd", "cdd", "bm"} {
		ptr = append(ptr, Load(Param(p).Base(), GP64()))
	}
	n := Load(Param("r").Len(), GP64())
	cp := Mem{Base: Load(Param("c"), GP64())}
	at := func(k int, i Register) Mem { return Mem{Base: ptr[k], Index: i, Scale: 1} }
	acc := make([]VecVirtual, 6) // mis, x, d, x·x, x·d, d·d
	for k := range acc {
		acc[k] = YMM()
		VXORPD(acc[k], acc[k], acc[k])
	}
	groups(name, n, func(i Register) {
		x, y, ax, t := YMM(), YMM(), YMM(), YMM()
		VMOVUPD(at(0, i), x)
		VMOVUPD(at(1, i), y)
		VSUBPD(x, y, y) // d = y - x
		VANDPD(cp.Offset(sAbs), x, ax)
		VMULPD(cp.Offset(sRtol), ax, t)
		VADDPD(cp.Offset(sAtol), t, t) // atol + rtol·|x|
		VANDPD(cp.Offset(sAbs), y, ax) // |d|
		VCMPPD(Imm(0x1e), t, ax, t)    // |d| > allowance
		VANDPD(cp.Offset(sOnes), t, t) // mis: 1 or 0
		vals := []VecVirtual{t, x, y, YMM(), YMM(), YMM()}
		VMULPD(x, x, vals[3])
		VMULPD(y, x, vals[4])
		VMULPD(y, y, vals[5])
		for k, v := range vals {
			VADDPD(v, acc[k], acc[k])
			s := YMM()
			VADDPD(at(2+k, i), v, s)
			VMOVUPD(s, at(2+k, i))
		}
		s := YMM()
		VADDPD(at(8, i), t, s)
		VMOVUPD(s, at(8, i))
	})
	outp := Mem{Base: Load(Param("out"), GP64())}
	for k, v := range acc {
		VMOVUPD(v, outp.Offset(32*k))
	}
	VZEROUPPER()
	RET()
}

// low writes lowAVX2, the diagnosis pass's check of finite pairs against
// a narrower format's ulp (probeLow without the representability count):
// ratio = |d|·2^(p-1-e), e = max(exponent of x, emin), built from x's
// exponent bits as exp2 builds it; per lane the largest ratio and their
// sum, and the counts of ratio > 1, of |d| > fatol + frtol·|x| and of
// nonzero x outside [minNormal, maxFinite]. The portable twin is
// lowLanes.
func low() {
	name := "lowAVX2"
	TEXT(name, NOSPLIT, "func(r, o []float64, c *uint64, out *[20]uint64)")
	Pragma("noescape")
	Doc(name + " checks the first len(r)&^3 finite pairs against a format's ulp (see lowLanes).")
	rp := Load(Param("r").Base(), GP64())
	op := Load(Param("o").Base(), GP64())
	n := Load(Param("r").Len(), GP64())
	cp := Mem{Base: Load(Param("c"), GP64())}
	maxr, sum, over, tol, rng := YMM(), YMM(), YMM(), YMM(), YMM()
	for _, v := range []VecVirtual{maxr, sum, over, tol, rng} {
		VXORPD(v, v, v)
	}
	groups(name, n, func(i Register) {
		x, d, e, t, u := YMM(), YMM(), YMM(), YMM(), YMM()
		VMOVUPD(Mem{Base: rp, Index: i, Scale: 1}, x)
		VMOVUPD(Mem{Base: op, Index: i, Scale: 1}, d)
		VSUBPD(x, d, d)
		VANDPD(cp.Offset(lAbs), d, d) // |d|
		VPSRLQ(Imm(52), x, e)
		VPAND(cp.Offset(lExp), e, e)    // biased exponent
		VPMAXSD(cp.Offset(lEmin), e, e) // at least emin's (the high words are 0)
		VMOVDQU(cp.Offset(lScale), t)
		VPSUBQ(e, t, t)
		VPSLLQ(Imm(52), t, t) // 2^(p-1-e)
		VMULPD(t, d, t)       // ratio
		VMAXPD(t, maxr, maxr)
		VADDPD(t, sum, sum)
		VCMPPD(Imm(0x1e), cp.Offset(lOnes), t, t) // ratio > 1
		VPSUBQ(t, over, over)
		VANDPD(cp.Offset(lAbs), x, x) // |x|
		VMULPD(cp.Offset(lRtol), x, t)
		VADDPD(cp.Offset(lAtol), t, t)
		VCMPPD(Imm(0x1e), t, d, t) // |d| > fatol + frtol·|x|
		VPSUBQ(t, tol, tol)
		VCMPPD(Imm(0x11), cp.Offset(lMinNormal), x, t) // |x| < minNormal
		VCMPPD(Imm(0x1e), cp.Offset(lMaxFinite), x, u) // |x| > maxFinite
		VORPD(u, t, t)
		VXORPD(u, u, u)
		VCMPPD(Imm(0x0c), u, x, u) // x != 0 (ordered)
		VANDPD(u, t, t)
		VPSUBQ(t, rng, rng)
	})
	outp := Mem{Base: Load(Param("out"), GP64())}
	for k, v := range []VecVirtual{maxr, sum, over, tol, rng} {
		VMOVUPD(v, outp.Offset(32*k))
	}
	VZEROUPPER()
	RET()
}

// decode writes decode<kind>AVX2, converting the first len(dst)&^3
// elements of src (little-endian, of kind k) to float64, four at a time:
// the decoder of F32, BF16 and F16 blocks. The conversions are exact and
// quiet a signaling NaN as Go's float64(float32) does, so the portable
// decoders give the same bits; nan is set when a NaN was converted (F16
// keeps its NaN payloads in Go: the caller decodes those again).
func decode(k kind) {
	name := "decode" + k.name + "AVX2"
	TEXT(name, NOSPLIT, "func(dst []float64, src []byte, nan *uint64)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s converts the first len(dst)&^3 %s elements of src to float64.", name, k.name))
	dp := Load(Param("dst").Base(), GP64())
	sp := Load(Param("src").Base(), GP64())
	n := Load(Param("dst").Len(), GP64())
	flag := YMM()
	VXORPD(flag, flag, flag)
	SHRQ(Imm(2), n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	v, t := YMM(), YMM()
	load(k, Mem{Base: sp}, v)
	VMOVUPD(v, Mem{Base: dp})
	VCMPPD(Imm(3), v, v, t) // unordered: NaN
	VORPD(t, flag, flag)
	ADDQ(Imm(uint64(k.stride)), sp)
	ADDQ(Imm(32), dp)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VPTEST(flag, flag)
	f := GP64()
	SETNE(f.As8())
	MOVBQZX(f.As8(), f)
	np := Load(Param("nan"), GP64())
	MOVQ(f, Mem{Base: np})
	VZEROUPPER()
	RET()
}

// bins writes binsAVX2, the |d| histogram's bin of each of the first
// len(r)&^3 pairs (probePairs): for |d| with biased exponent e > 0,
// 1 + floor((e-1023)·log10 2) - histMinDecade, the decade of its binade's
// first number ((e-1023)·78913 >> 18 is that floor for every exponent),
// plus 1 when |d| >= thresh[e], where the binade enters the next decade;
// 0 (the zero bin) when e = 0. sub is set when some |d| is subnormal
// (counted as zero here, moved by the caller).
func bins() {
	name := "binsAVX2"
	TEXT(name, NOSPLIT, "func(r, o []float64, thresh *[2048]float64, c *uint64, bins []int64, sub *uint64)")
	Pragma("noescape")
	Doc(name + " bins |o - r| of the first len(r)&^3 pairs by decade (see probePairs).")
	rp := Load(Param("r").Base(), GP64())
	op := Load(Param("o").Base(), GP64())
	n := Load(Param("r").Len(), GP64())
	tp := Load(Param("thresh"), GP64())
	cp := Mem{Base: Load(Param("c"), GP64())}
	bp := Load(Param("bins").Base(), GP64())
	flag, zero := YMM(), YMM()
	VPXOR(flag, flag, flag)
	VPXOR(zero, zero, zero)
	groups(name, n, func(i Register) {
		ad, e, b, m, t := YMM(), YMM(), YMM(), YMM(), YMM()
		VMOVUPD(Mem{Base: op, Index: i, Scale: 1}, ad)
		VSUBPD(Mem{Base: rp, Index: i, Scale: 1}, ad, ad)
		VANDPD(cp.Offset(bAbs), ad, ad) // |d|
		VPSRLQ(Imm(52), ad, e)          // biased exponent (the sign is clear)
		VPSUBD(cp.Offset(bBias), e, b)  // low words: e - 1023 (high words stay 0)
		VPMULLD(cp.Offset(bLog), b, b)
		VPSRAD(Imm(18), b, b)
		VPADDD(cp.Offset(bFirst), b, b) // 1 + decade - histMinDecade (> 0)
		VPCMPEQQ(zero, e, m)            // e == 0: the zero bin
		VPANDN(b, m, b)
		VPCMPEQQ(m, m, t) // all ones: gather every lane
		g := YMM()
		VXORPD(g, g, g)
		VGATHERQPD(t, Mem{Base: tp, Index: e, Scale: 8}, g)
		VCMPPD(Imm(0x1d), g, ad, g) // |d| >= thresh[e]
		VPSUBQ(g, b, b)
		VMOVDQU(b, Mem{Base: bp, Index: i, Scale: 1})
		VCMPPD(Imm(0x0c), zero, ad, t) // |d| != 0
		VANDPD(m, t, t)                // and subnormal
		VORPD(t, flag, flag)
	})
	VPTEST(flag, flag)
	f := GP64()
	SETNE(f.As8())
	MOVBQZX(f.As8(), f)
	sp := Load(Param("sub"), GP64())
	MOVQ(f, Mem{Base: sp})
	VZEROUPPER()
	RET()
}

// table is the Go dispatch code for the kernels: asmKind numbers the
// kinds as kernel ids do (id = 1 + len(kinds)·kind(r) + kind(o)), and
// callAsm calls kernel id.
func table(pkg string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by diffing/internal/asmgen. DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "//go:build %s\n\npackage %s\n\n", constraint, pkg)
	fmt.Fprintf(&b, "import \"github.com/refcmp/refcmp/tensor\"\n\n")
	fmt.Fprintf(&b, "// asmKinds is the number of dtypes the kernels read directly.\nconst asmKinds = %d\n\n", len(kinds))
	fmt.Fprintf(&b, "// asmKind numbers the dtypes the kernels read directly (-1: none).\n")
	fmt.Fprintf(&b, "func asmKind(dt tensor.DType) int {\n\tswitch dt {\n")
	for i, k := range kinds {
		fmt.Fprintf(&b, "\tcase tensor.%s:\n\t\treturn %d\n", k.name, i)
	}
	fmt.Fprintf(&b, "\t}\n\treturn -1\n}\n\n")
	fmt.Fprintf(&b, "// callAsm runs kernel id (nonzero) on the first n&^3 elements.\n")
	fmt.Fprintf(&b, "func callAsm(id asmID, r, o []byte, n int, c *uint64, out *uint64) {\n\tswitch id {\n")
	for i, rk := range kinds {
		for j, ok := range kinds {
			fmt.Fprintf(&b, "\tcase %d:\n\t\tkernel%s%sAVX2(r, o, n, c, out)\n", 1+len(kinds)*i+j, rk.name, ok.name)
		}
	}
	fmt.Fprintf(&b, "\t}\n}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	return src
}

// constraint is the build constraint of every generated file: the
// purego tag selects the portable kernel on amd64 too.
const constraint = "amd64 && !purego"

func main() {
	tableOut := flag.String("table", "", "write the Go dispatch table to this `file`")
	pkg := flag.String("tablepkg", "diffing", "package of the dispatch table")
	flag.Parse()
	ConstraintExpr("amd64,!purego") // the same as constraint
	for _, rk := range kinds {
		for _, ok := range kinds {
			kernel(rk, ok)
		}
	}
	segment()
	low()
	bins()
	for _, k := range kinds[1:] {
		decode(k)
	}
	Generate()
	if *tableOut != "" {
		if err := os.WriteFile(*tableOut, table(*pkg), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
