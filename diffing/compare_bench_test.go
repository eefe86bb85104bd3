package diffing

import (
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/refcmp/refcmp/tensor"
)

// benchBytes is the size of each side's data in the benchmarks.
const benchBytes = 64 << 20

func benchPair(b *testing.B, rdt, odt tensor.DType) (tensor.Tensor, tensor.Tensor) {
	b.Helper()
	n := benchBytes / rdt.Size()
	r := rand.New(rand.NewPCG(1, 1))
	shape := []int64{int64(n / 1024), 1024}
	if rdt.Size() == 1 && odt.Size() == 1 {
		a, c := make(tensor.MemData, n), make(tensor.MemData, n)
		for i := range a {
			a[i] = byte(r.Uint32())
			c[i] = a[i] ^ byte(r.Uint32()&r.Uint32()&r.Uint32()&1)
		}
		return tensor.Tensor{Name: "ref", DType: rdt, Shape: shape, Data: a}, tensor.Tensor{Name: "ours", DType: odt, Shape: shape, Data: c}
	}
	a := make([]float64, n)
	c := make([]float64, n)
	for i := range a {
		a[i] = r.NormFloat64()
		c[i] = a[i] * (1 + 1e-7*r.NormFloat64())
	}
	return mkTensor(b, "ref", rdt, shape, a), mkTensor(b, "ours", odt, shape, c)
}

func benchCompare(b *testing.B, rdt, odt tensor.DType) {
	ref, ours := benchPair(b, rdt, odt)
	tol := DefaultTolerance(rdt, odt)
	b.SetBytes(int64(ref.Numel()) * int64(rdt.Size()+odt.Size()))
	cpu := cpuTime()
	for b.Loop() {
		if _, err := CompareWith(ref, ours, tol, Options{NoHints: true}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, ref.Numel()*int64(rdt.Size()+odt.Size()))
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds MB/cpu-s: throughput per core, which unlike MB/s does not
// depend on how busy the machine is with other work.
func reportCPU(b *testing.B, start time.Duration, bytesPerOp int64) {
	used := cpuTime() - start
	if used > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/used.Seconds()/1e6, "MB/cpu-s")
	}
}

func BenchmarkCompareF32(b *testing.B)       { benchCompare(b, tensor.F32, tensor.F32) }
func BenchmarkCompareF64(b *testing.B)       { benchCompare(b, tensor.F64, tensor.F64) }
func BenchmarkCompareF16(b *testing.B)       { benchCompare(b, tensor.F16, tensor.F16) }
func BenchmarkCompareBF16(b *testing.B)      { benchCompare(b, tensor.BF16, tensor.BF16) }
func BenchmarkCompareF32vsBF16(b *testing.B) { benchCompare(b, tensor.F32, tensor.BF16) }
func BenchmarkCompareF8E4M3(b *testing.B)    { benchCompare(b, tensor.F8E4M3, tensor.F8E4M3) }
func BenchmarkCompareI32(b *testing.B)       { benchCompare(b, tensor.I32, tensor.I32) }
func BenchmarkCompareF32Exact(b *testing.B) {
	ref, ours := benchPair(b, tensor.F32, tensor.F32)
	b.SetBytes(2 * int64(ref.Numel()) * 4)
	for b.Loop() {
		if _, err := CompareWith(ref, ours, Tolerance{Exact: true}, Options{NoHints: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompareF32ReaderAt reads through ReadAt (copying), as for files.
func BenchmarkCompareF32ReaderAt(b *testing.B) {
	ref, ours := benchPair(b, tensor.F32, tensor.F32)
	ref.Data, ours.Data = readerOnly{ref.Data}, readerOnly{ours.Data}
	b.SetBytes(2 * int64(ref.Numel()) * 4)
	for b.Loop() {
		if _, err := CompareWith(ref, ours, DefaultTolerance(tensor.F32, tensor.F32), Options{NoHints: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompareF32PureGo is BenchmarkCompareF32 with the portable
// kernel, to measure what the assembly gains.
func BenchmarkCompareF32PureGo(b *testing.B) {
	ref, ours := benchPair(b, tensor.F32, tensor.F32)
	b.SetBytes(2 * int64(ref.Numel()) * 4)
	cpu := cpuTime()
	for b.Loop() {
		if _, err := CompareWith(ref, ours, DefaultTolerance(tensor.F32, tensor.F32), Options{NoHints: true, pureGo: true}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, 2*ref.Numel()*4)
}

// BenchmarkCompareF32Masked has a causal attention mask: -Inf above the
// diagonal of each 512×512 block on both sides, so every block takes the
// non-finite path.
func BenchmarkCompareF32Masked(b *testing.B) {
	const s = 512
	n := benchBytes / 4
	r := rand.New(rand.NewPCG(2, 2))
	a := make([]float64, n)
	c := make([]float64, n)
	for i := range a {
		if row, col := (i/s)%s, i%s; col > row {
			a[i], c[i] = math.Inf(-1), math.Inf(-1)
			continue
		}
		a[i] = r.NormFloat64()
		c[i] = a[i] * (1 + 1e-7*r.NormFloat64())
	}
	shape := []int64{int64(n / (s * s)), s, s}
	ref, ours := mkTensor(b, "ref", tensor.F32, shape, a), mkTensor(b, "ours", tensor.F32, shape, c)
	b.SetBytes(2 * int64(n) * 4)
	cpu := cpuTime()
	for b.Loop() {
		if _, err := CompareWith(ref, ours, DefaultTolerance(tensor.F32, tensor.F32), Options{NoHints: true}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, 2*int64(n)*4)
}

// BenchmarkCompareF32Failing is a failing pair (one element in 10^5 out of
// tolerance): the comparison pass plus the diagnosis pass and sampling.
func BenchmarkCompareF32Failing(b *testing.B) {
	ref, ours := benchPair(b, tensor.F32, tensor.F32)
	data := ours.Data.(tensor.MemData)
	for i := 0; i < len(data); i += 4 * 100_000 {
		data[i+3] ^= 0x40 // flip an exponent bit
	}
	b.SetBytes(2 * int64(ref.Numel()) * 4)
	cpu := cpuTime()
	for b.Loop() {
		res, err := Compare(ref, ours, DefaultTolerance(tensor.F32, tensor.F32))
		if err != nil || res.Pass {
			b.Fatal(err, res.Pass)
		}
	}
	reportCPU(b, cpu, 2*ref.Numel()*4)
}

// BenchmarkBlockF32 runs blockFinite on one F32 block in the L1 cache
// (no reading, no merging): the kernel and its per-block Go code alone.
func BenchmarkBlockF32(b *testing.B) {
	ref, ours := benchPair(b, tensor.F32, tensor.F32)
	rb := ref.Data.(tensor.MemData)[:4*blockElems]
	ob := ours.Data.(tensor.MemData)[:4*blockElems]
	ks := kernelsFor(tensor.F32, tensor.F32)
	tol := DefaultTolerance(tensor.F32, tensor.F32)
	kp := kparams{atol: tol.Atol, rtol: tol.Rtol}
	r, o := make([]float64, blockElems), make([]float64, blockElems)
	var out blockOut
	b.SetBytes(2 * 4 * blockElems)
	cpu := cpuTime()
	for b.Loop() {
		in := blockIn{rblk: rb, oblk: ob, r: r, o: o, rdec: decoderFor(tensor.F32), odec: decoderFor(tensor.F32)}
		// Running maxima above the block's: no rescan.
		if !blockFinite(ks, &in, &kp, 1, 1, &out, false) {
			b.Fatal("not finite")
		}
	}
	reportCPU(b, cpu, 2*4*blockElems)
}
