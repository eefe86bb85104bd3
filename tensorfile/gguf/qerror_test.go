package gguf

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestExpectedNMSETable(t *testing.T) {
	// Fewer bits cost more: the measured medians keep llama.cpp's order.
	order := []Type{F16, BF16, Q8_0, Q6_K, Q5_K, Q4_K, Q3_K, Q2_K}
	prev := 0.0
	for _, ty := range order {
		q, ok := QuantErrorOf(ty)
		if !ok || q.Samples < 10 || !(q.Min <= q.Median && q.Median <= q.Max) || q.Median <= prev {
			t.Errorf("%s: %+v (previous median %g)", ty, q, prev)
		}
		prev = q.Median
	}
	for _, ty := range []Type{Q4_0, Q4_1, Q5_0, Q5_1} {
		if _, ok := ExpectedNMSE(ty); !ok {
			t.Errorf("%s not measured", ty)
		}
	}
	for _, ty := range []Type{F32, I32, IQ2_XXS, Type(250)} {
		if _, ok := ExpectedNMSE(ty); ok {
			t.Errorf("%s has a band", ty)
		}
	}
}

// TestExpectedNMSEReproduces quantizes a fresh Gaussian sample (a seed
// the table did not use) with ggml, decodes it with Dequantize, and checks
// the NMSE falls inside the committed band (widened 2x each way).
func TestExpectedNMSEReproduces(t *testing.T) {
	o := newOracle(t)
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(99, 1))
	x := make([]float32, 128*512)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.02)
	}
	in := filepath.Join(dir, "x.f32")
	os.WriteFile(in, f32Bytes(x), 0o644)
	for _, ty := range []Type{F16, BF16, Q8_0, Q6_K, Q5_K, Q5_1, Q5_0, Q4_K, Q4_1, Q4_0, Q3_K, Q2_K} {
		q, d := filepath.Join(dir, "q"), filepath.Join(dir, "d")
		if _, err := o.run(t, "qd", strconv.Itoa(int(ty)), "512", in, q, d); err != nil {
			t.Fatal(err)
		}
		qb, _ := os.ReadFile(q)
		y := make([]float32, len(x))
		if err := Dequantize(ty, binary.LittleEndian, qb, y); err != nil {
			t.Fatal(err)
		}
		var num, den float64
		for i := range x {
			e := float64(x[i]) - float64(y[i])
			num += e * e
			den += float64(x[i]) * float64(x[i])
		}
		nmse := num / den
		band, _ := QuantErrorOf(ty)
		if nmse < band.Min/2 || nmse > band.Max*2 || math.IsNaN(nmse) {
			t.Errorf("%s: NMSE %g outside the band [%g, %g]", ty, nmse, band.Min, band.Max)
		}
	}
}
