//go:build amd64 && !purego

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
	a, b := asmKind(rdt), asmKind(odt)
	if a < 0 || b < 0 {
		return 0
	}
	return asmID(1 + asmKinds*a + b)
}

// probeAsm reports whether the diagnosis pass's kernels (segmentAVX2,
// lowAVX2) can run: AVX2.
var probeAsm = cpu.X86.HasAVX2
