//go:build amd64

package diffing

import (
	"golang.org/x/sys/cpu"

	"github.com/refcmp/refcmp/safetensors"
)

// asmKernel returns the AVX2 kernel reading rdt and odt blocks directly,
// or nil when the CPU lacks AVX2/FMA/F16C or a dtype has no kernel (the
// caller then decodes to float64 and uses the F64 kernel or kernelGo).
func asmKernel(rdt, odt safetensors.DType) asmFunc {
	if !(cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C) {
		return nil
	}
	type pair struct{ r, o safetensors.DType }
	const (
		f64, f32, bf16, f16 = safetensors.F64, safetensors.F32, safetensors.BF16, safetensors.F16
	)
	switch (pair{rdt, odt}) {
	case pair{f64, f64}:
		return kernelF64F64AVX2
	case pair{f64, f32}:
		return kernelF64F32AVX2
	case pair{f64, bf16}:
		return kernelF64BF16AVX2
	case pair{f64, f16}:
		return kernelF64F16AVX2
	case pair{f32, f64}:
		return kernelF32F64AVX2
	case pair{f32, f32}:
		return kernelF32F32AVX2
	case pair{f32, bf16}:
		return kernelF32BF16AVX2
	case pair{f32, f16}:
		return kernelF32F16AVX2
	case pair{bf16, f64}:
		return kernelBF16F64AVX2
	case pair{bf16, f32}:
		return kernelBF16F32AVX2
	case pair{bf16, bf16}:
		return kernelBF16BF16AVX2
	case pair{bf16, f16}:
		return kernelBF16F16AVX2
	case pair{f16, f64}:
		return kernelF16F64AVX2
	case pair{f16, f32}:
		return kernelF16F32AVX2
	case pair{f16, bf16}:
		return kernelF16BF16AVX2
	case pair{f16, f16}:
		return kernelF16F16AVX2
	}
	return nil
}
