//go:build amd64

package diffing

import (
	"github.com/refcmp/refcmp/tensor"
	"golang.org/x/sys/cpu"
)

// asmKernel returns the AVX2 kernel reading rdt and odt blocks directly,
// or 0 when the CPU lacks AVX2/FMA/F16C or a dtype has no kernel (the
// caller then decodes to float64 and uses the F64 kernel or kernelGo).
// Kernels are named by number, not held in function values, so that
// their pointer arguments stay on the stack (go:noescape).
func asmKernel(rdt, odt tensor.DType) asmID {
	if !(cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C) {
		return 0
	}
	kind := func(dt tensor.DType) int {
		switch dt {
		case tensor.F64:
			return 0
		case tensor.F32:
			return 1
		case tensor.BF16:
			return 2
		case tensor.F16:
			return 3
		}
		return -1
	}
	a, b := kind(rdt), kind(odt)
	if a < 0 || b < 0 {
		return 0
	}
	return asmID(1 + 4*a + b)
}

// callAsm runs kernel id (nonzero) on the first n&^3 elements.
func callAsm(id asmID, r, o []byte, n int, c *uint64, out *uint64) {
	switch id {
	case 1:
		kernelF64F64AVX2(r, o, n, c, out)
	case 2:
		kernelF64F32AVX2(r, o, n, c, out)
	case 3:
		kernelF64BF16AVX2(r, o, n, c, out)
	case 4:
		kernelF64F16AVX2(r, o, n, c, out)
	case 5:
		kernelF32F64AVX2(r, o, n, c, out)
	case 6:
		kernelF32F32AVX2(r, o, n, c, out)
	case 7:
		kernelF32BF16AVX2(r, o, n, c, out)
	case 8:
		kernelF32F16AVX2(r, o, n, c, out)
	case 9:
		kernelBF16F64AVX2(r, o, n, c, out)
	case 10:
		kernelBF16F32AVX2(r, o, n, c, out)
	case 11:
		kernelBF16BF16AVX2(r, o, n, c, out)
	case 12:
		kernelBF16F16AVX2(r, o, n, c, out)
	case 13:
		kernelF16F64AVX2(r, o, n, c, out)
	case 14:
		kernelF16F32AVX2(r, o, n, c, out)
	case 15:
		kernelF16BF16AVX2(r, o, n, c, out)
	case 16:
		kernelF16F16AVX2(r, o, n, c, out)
	}
}
