//go:build !amd64 || purego

package diffing

import "github.com/refcmp/refcmp/tensor"

// asmKernel: no assembly kernels on this architecture (or with the
// purego build tag).
func asmKernel(rdt, odt tensor.DType) asmID { return 0 }

func callAsm(id asmID, r, o []byte, n int, c *uint64, out *uint64) {}

// probeAsm: the diagnosis pass's kernels are not available here.
const probeAsm = false

func segmentAVX2(r, o, cm, csr, csd, crr, crd, cdd, bm []float64, c *uint64, out *[24]float64) {}

func lowAVX2(r, o []float64, c *uint64, out *[20]uint64) {}

func decodeF32AVX2(dst []float64, src []byte, nan *uint64) {}

func decodeBF16AVX2(dst []float64, src []byte, nan *uint64) {}

func binsAVX2(r, o []float64, thresh *[2048]float64, c *uint64, bins []int64, sub *uint64) {}

func decodeF16AVX2(dst []float64, src []byte, nan *uint64) {}
