package diffing

import (
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/refcmp/refcmp/safetensors"
)

// benchBytes is the size of each side's data in the benchmarks.
const benchBytes = 64 << 20

func benchPair(b *testing.B, rdt, odt safetensors.DType) (Tensor, Tensor) {
	b.Helper()
	n := benchBytes / rdt.Size()
	r := rand.New(rand.NewPCG(1, 1))
	shape := []int64{int64(n / 1024), 1024}
	if rdt.Size() == 1 && odt.Size() == 1 {
		a, c := make(MemData, n), make(MemData, n)
		for i := range a {
			a[i] = byte(r.Uint32())
			c[i] = a[i] ^ byte(r.Uint32()&r.Uint32()&r.Uint32()&1)
		}
		return Tensor{Name: "ref", DType: rdt, Shape: shape, Data: a}, Tensor{Name: "ours", DType: odt, Shape: shape, Data: c}
	}
	a := make([]float64, n)
	c := make([]float64, n)
	for i := range a {
		a[i] = r.NormFloat64()
		c[i] = a[i] * (1 + 1e-7*r.NormFloat64())
	}
	return tensor(b, "ref", rdt, shape, a), tensor(b, "ours", odt, shape, c)
}

func benchCompare(b *testing.B, rdt, odt safetensors.DType) {
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

func BenchmarkCompareF32(b *testing.B)       { benchCompare(b, safetensors.F32, safetensors.F32) }
func BenchmarkCompareF64(b *testing.B)       { benchCompare(b, safetensors.F64, safetensors.F64) }
func BenchmarkCompareF16(b *testing.B)       { benchCompare(b, safetensors.F16, safetensors.F16) }
func BenchmarkCompareBF16(b *testing.B)      { benchCompare(b, safetensors.BF16, safetensors.BF16) }
func BenchmarkCompareF32vsBF16(b *testing.B) { benchCompare(b, safetensors.F32, safetensors.BF16) }
func BenchmarkCompareF8E4M3(b *testing.B)    { benchCompare(b, safetensors.F8E4M3, safetensors.F8E4M3) }
func BenchmarkCompareI32(b *testing.B)       { benchCompare(b, safetensors.I32, safetensors.I32) }
func BenchmarkCompareF32Exact(b *testing.B) {
	ref, ours := benchPair(b, safetensors.F32, safetensors.F32)
	b.SetBytes(2 * int64(ref.Numel()) * 4)
	for b.Loop() {
		if _, err := CompareWith(ref, ours, Tolerance{Exact: true}, Options{NoHints: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompareF32ReaderAt reads through ReadAt (copying), as for files.
func BenchmarkCompareF32ReaderAt(b *testing.B) {
	ref, ours := benchPair(b, safetensors.F32, safetensors.F32)
	ref.Data, ours.Data = readerOnly{ref.Data}, readerOnly{ours.Data}
	b.SetBytes(2 * int64(ref.Numel()) * 4)
	for b.Loop() {
		if _, err := CompareWith(ref, ours, DefaultTolerance(safetensors.F32, safetensors.F32), Options{NoHints: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompareF32PureGo is BenchmarkCompareF32 with the portable
// kernel, to measure what the assembly gains.
func BenchmarkCompareF32PureGo(b *testing.B) {
	ref, ours := benchPair(b, safetensors.F32, safetensors.F32)
	b.SetBytes(2 * int64(ref.Numel()) * 4)
	cpu := cpuTime()
	for b.Loop() {
		if _, err := CompareWith(ref, ours, DefaultTolerance(safetensors.F32, safetensors.F32), Options{NoHints: true, pureGo: true}); err != nil {
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
	ref, ours := tensor(b, "ref", safetensors.F32, shape, a), tensor(b, "ours", safetensors.F32, shape, c)
	b.SetBytes(2 * int64(n) * 4)
	cpu := cpuTime()
	for b.Loop() {
		if _, err := CompareWith(ref, ours, DefaultTolerance(safetensors.F32, safetensors.F32), Options{NoHints: true}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, 2*int64(n)*4)
}

// BenchmarkCompareF32Failing is a failing pair (one element in 10^5 out of
// tolerance): the comparison pass plus the diagnosis pass and sampling.
func BenchmarkCompareF32Failing(b *testing.B) {
	ref, ours := benchPair(b, safetensors.F32, safetensors.F32)
	data := ours.Data.(MemData)
	for i := 0; i < len(data); i += 4 * 100_000 {
		data[i+3] ^= 0x40 // flip an exponent bit
	}
	b.SetBytes(2 * int64(ref.Numel()) * 4)
	cpu := cpuTime()
	for b.Loop() {
		res, err := Compare(ref, ours, DefaultTolerance(safetensors.F32, safetensors.F32))
		if err != nil || res.Pass {
			b.Fatal(err, res.Pass)
		}
	}
	reportCPU(b, cpu, 2*ref.Numel()*4)
}
