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

// Offsets (bytes) in c and out.
const (
	cKr, cKo, cAtol, cRtol, cMaxRel, cAbs, cMaxAbs = 0, 32, 64, 96, 128, 160, 192
)

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
	SHRQ(Imm(2), n)

	// Pass 1: each side's statistics.
	rs, rs2, os, os2 := YMM(), YMM(), YMM(), YMM()
	rmin, rmax, omin, omax := YMM(), YMM(), YMM(), YMM()
	for _, z := range []VecVirtual{rs, rs2, os, os2} {
		VXORPD(z, z, z)
	}
	VMOVUPD(cp.Offset(cKr), rmin)
	VMOVUPD(rmin, rmax)
	VMOVUPD(cp.Offset(cKo), omin)
	VMOVUPD(omin, omax)
	i := GP64()
	r, o := GP64(), GP64()
	MOVQ(rp, r)
	MOVQ(op, o)
	MOVQ(n, i)
	Label(name + "_p1")
	TESTQ(i, i)
	JZ(LabelRef(name + "_p1done"))
	x, y := YMM(), YMM()
	load(rk, Mem{Base: r}, x)
	load(ok, Mem{Base: o}, y)
	VMINPD(x, rmin, rmin)
	VMAXPD(x, rmax, rmax)
	VMINPD(y, omin, omin)
	VMAXPD(y, omax, omax)
	VSUBPD(cp.Offset(cKr), x, x)
	VADDPD(x, rs, rs)
	VFMADD231PD(x, x, rs2)
	VSUBPD(cp.Offset(cKo), y, y)
	VADDPD(y, os, os)
	VFMADD231PD(y, y, os2)
	ADDQ(Imm(uint64(rk.stride)), r)
	ADDQ(Imm(uint64(ok.stride)), o)
	DECQ(i)
	JMP(LabelRef(name + "_p1"))
	Label(name + "_p1done")
	for k, v := range []VecVirtual{rs, rs2, os, os2, rmin, rmax, omin, omax} {
		VMOVUPD(v, outp.Offset(32*k))
	}

	// Pass 2: the differences.
	sad, sdd, dot, maxAbs, mis, rel := YMM(), YMM(), YMM(), YMM(), YMM(), YMM()
	for _, z := range []VecVirtual{sad, sdd, dot, mis, rel} {
		VXORPD(z, z, z)
	}
	VMOVUPD(cp.Offset(cMaxAbs), maxAbs)
	MOVQ(rp, r)
	MOVQ(op, o)
	MOVQ(n, i)
	Label(name + "_p2")
	TESTQ(i, i)
	JZ(LabelRef(name + "_p2done"))
	x2, y2, d, t := YMM(), YMM(), YMM(), YMM()
	load(rk, Mem{Base: r}, x2)
	load(ok, Mem{Base: o}, y2)
	VSUBPD(x2, y2, d)             // d = y - x
	VFMADD231PD(y2, x2, dot)      // dot += x*y
	VFMADD231PD(d, d, sdd)        // sdd += d*d
	VANDPD(cp.Offset(cAbs), d, d) // |d|
	VADDPD(d, sad, sad)
	VMAXPD(d, maxAbs, maxAbs)
	VANDPD(cp.Offset(cAbs), x2, x2) // |x|
	VMULPD(cp.Offset(cRtol), x2, t) // rtol*|x|, rounded
	VADDPD(cp.Offset(cAtol), t, t)  // t = atol + rtol*|x|, rounded
	VCMPPD(Imm(0x1e), t, d, t)      // |d| > t
	VPSUBQ(t, mis, mis)
	VFMSUB231PD(cp.Offset(cMaxRel), x2, d) // d = maxRel*|x| - |d|, rounded once
	VORPD(d, rel, rel)                     // sign bit: |d| > maxRel*|x|
	ADDQ(Imm(uint64(rk.stride)), r)
	ADDQ(Imm(uint64(ok.stride)), o)
	DECQ(i)
	JMP(LabelRef(name + "_p2"))
	Label(name + "_p2done")
	for k, v := range []VecVirtual{sad, sdd, dot, maxAbs, mis, rel} {
		VMOVUPD(v, outp.Offset(32*(8+k)))
	}
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
	Generate()
	if *tableOut != "" {
		if err := os.WriteFile(*tableOut, table(*pkg), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
