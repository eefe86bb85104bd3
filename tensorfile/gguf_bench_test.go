package tensorfile_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/ggufwrite"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile"
	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// benchRows x benchCols elements per side.
const benchRows, benchCols = 4096, 1024

// benchQuant compares a GGUF tensor of type ty (random blocks, read
// through the decoded view from a file) with a BF16 source in memory.
func benchQuant(b *testing.B, ty gguf.Type) {
	n := benchRows * benchCols
	r := rand.New(rand.NewPCG(3, 3))
	nb := n / ty.BlockSize()
	raw := make([]byte, nb*ty.BlockBytes())
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	for k := 0; k < nb; k++ { // finite f16 scales
		binary.LittleEndian.PutUint16(raw[k*ty.BlockBytes():], 0x2000)
		binary.LittleEndian.PutUint16(raw[k*ty.BlockBytes()+2:], 0x1c00)
	}
	file, err := ggufwrite.Encode(nil, []ggufwrite.Tensor{{Name: "w", Dims: []uint64{benchCols, benchRows}, Type: uint32(ty), Data: raw}})
	if err != nil {
		b.Fatal(err)
	}
	c, err := tensorfile.Open(testenv.WriteFile(b, b.TempDir(), "w.gguf", file), tensorfile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// The source: the decoded values, rounded to BF16 (a conversion's
	// source is that close to its quantized tensor, relative to its size).
	vals := make([]float32, n)
	if err := gguf.Dequantize(ty, binary.LittleEndian, raw, vals); err != nil {
		b.Fatal(err)
	}
	src := make(tensor.MemData, 2*n)
	for i, v := range vals {
		binary.LittleEndian.PutUint16(src[2*i:], uint16(math.Float32bits(v)>>16))
	}
	ref := tensor.Tensor{Name: "w", DType: tensor.BF16, Shape: []int64{benchRows, benchCols}, Data: src}
	run(b, ref, c.Tensors[0])
}

func run(b *testing.B, ref, ours tensor.Tensor) {
	tol := diffing.DefaultTolerance(ref.DType, ours.DType)
	for b.Loop() {
		if _, err := diffing.CompareWith(ref, ours, tol, diffing.Options{NoHints: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ref.Numel())*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
}

// BenchmarkGGUFCompareF32 is the baseline: an F32 pair in memory.
func BenchmarkGGUFCompareF32(b *testing.B) {
	n := benchRows * benchCols
	r := rand.New(rand.NewPCG(3, 3))
	x, y := make(tensor.MemData, 4*n), make(tensor.MemData, 4*n)
	for i := 0; i < n; i++ {
		v := float32(r.NormFloat64())
		binary.LittleEndian.PutUint32(x[4*i:], math.Float32bits(v))
		binary.LittleEndian.PutUint32(y[4*i:], math.Float32bits(v*(1+1e-7)))
	}
	sh := []int64{benchRows, benchCols}
	run(b, tensor.Tensor{Name: "w", DType: tensor.F32, Shape: sh, Data: x}, tensor.Tensor{Name: "w", DType: tensor.F32, Shape: sh, Data: y})
}

func BenchmarkGGUFCompareQ8_0vsBF16(b *testing.B) { benchQuant(b, gguf.Q8_0) }
func BenchmarkGGUFCompareQ4_KvsBF16(b *testing.B) { benchQuant(b, gguf.Q4_K) }
