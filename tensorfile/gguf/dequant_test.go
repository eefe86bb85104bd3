package gguf

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// decodable quantized and float types ggml has a to_float for; the
// integer types and F32 have none (they are checked in TestDequantizePlain).
var ggmlDecodable = []Type{F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K}

// adversarialRows returns rows of 256 float32s: Gaussian weights, zeros,
// huge, tiny (subnormal scales), a constant, outliers, alternating sign,
// and the f16 range limits. No NaN (ggml's quantizers do not handle it).
func adversarialRows(seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	var x []float32
	row := func(f func(i int) float64) {
		for i := 0; i < 256; i++ {
			x = append(x, float32(f(i)))
		}
	}
	for k := 0; k < 8; k++ {
		s := math.Pow(10, float64(k-4))
		row(func(int) float64 { return r.NormFloat64() * s })
	}
	row(func(int) float64 { return 0 })
	row(func(int) float64 { return r.NormFloat64() * 1e30 })
	row(func(int) float64 { return r.NormFloat64() * 1e-30 })
	row(func(int) float64 { return r.NormFloat64() * 1e-6 })
	row(func(int) float64 { return 0.3 })
	row(func(i int) float64 {
		if i == 17 {
			return 1000
		}
		return r.NormFloat64() * 0.01
	})
	row(func(i int) float64 { return float64(1 - 2*(i%2)) })
	row(func(i int) float64 { return 65504 * float64(i%3-1) })
	row(func(i int) float64 { return math.SmallestNonzeroFloat32 * float64(i) })
	row(func(int) float64 { return r.Float64() })
	return x
}

func f32Bytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// sameBits compares two float32 outputs bit for bit (any NaN equals any NaN).
func sameBits(t *testing.T, what string, got []float32, want []byte) {
	t.Helper()
	if len(want) != 4*len(got) {
		t.Fatalf("%s: %d values, ggml %d", what, len(got), len(want)/4)
	}
	bad := 0
	for i, g := range got {
		w := binary.LittleEndian.Uint32(want[4*i:])
		if math.Float32bits(g) != w && !(g != g && math.IsNaN(float64(math.Float32frombits(w)))) {
			if bad++; bad <= 5 {
				t.Errorf("%s: element %d (block %d) = %g (%#08x), ggml %g (%#08x)", what, i, i, g, math.Float32bits(g), math.Float32frombits(w), w)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d elements differ", what, bad)
	}
}

// TestDequantizeMatchesGgml quantizes adversarial and random data with
// ggml's own ggml_quantize_chunk, then checks that Dequantize equals
// ggml's to_float bit for bit on the result; and does the same on random
// block bytes that no quantizer would write (every bit pattern of the
// scales, NaN and Inf included).
func TestDequantizeMatchesGgml(t *testing.T) {
	o := newOracle(t)
	dir := t.TempDir()
	x := adversarialRows(1)
	in := filepath.Join(dir, "in.f32")
	if err := os.WriteFile(in, f32Bytes(x), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, ty := range ggmlDecodable {
		q, d := filepath.Join(dir, ty.String()+".q"), filepath.Join(dir, ty.String()+".f32")
		if _, err := o.run(t, "qd", strconv.Itoa(int(ty)), "256", in, q, d); err != nil {
			t.Fatalf("%s: %v", ty, err)
		}
		qb, _ := os.ReadFile(q)
		want, _ := os.ReadFile(d)
		got := make([]float32, len(x))
		if err := Dequantize(ty, binary.LittleEndian, qb, got); err != nil {
			t.Fatalf("%s: %v", ty, err)
		}
		sameBits(t, ty.String()+" quantized by ggml", got, want)

		raw := make([]byte, 64*ty.BlockBytes())
		for i := range raw {
			raw[i] = byte(r.Uint32())
		}
		rp, rd := filepath.Join(dir, ty.String()+".raw"), filepath.Join(dir, ty.String()+".rawf32")
		os.WriteFile(rp, raw, 0o644)
		if _, err := o.run(t, "dequant", strconv.Itoa(int(ty)), rp, rd); err != nil {
			t.Fatalf("%s: %v", ty, err)
		}
		want, _ = os.ReadFile(rd)
		got = make([]float32, 64*ty.BlockSize())
		if err := Dequantize(ty, binary.LittleEndian, raw, got); err != nil {
			t.Fatal(err)
		}
		sameBits(t, ty.String()+" random blocks", got, want)
	}
}

// TestHalfExhaustive checks every one of the 65536 F16 and BF16 bit
// patterns against ggml's to_float.
func TestHalfExhaustive(t *testing.T) {
	o := newOracle(t)
	dir := t.TempDir()
	raw := make([]byte, 2*65536)
	for i := 0; i < 65536; i++ {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(i))
	}
	in := filepath.Join(dir, "all.bin")
	os.WriteFile(in, raw, 0o644)
	for _, ty := range []Type{F16, BF16} {
		out := filepath.Join(dir, ty.String())
		if _, err := o.run(t, "dequant", strconv.Itoa(int(ty)), in, out); err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(out)
		got := make([]float32, 65536)
		if err := Dequantize(ty, binary.LittleEndian, raw, got); err != nil {
			t.Fatal(err)
		}
		sameBits(t, ty.String()+" all bit patterns", got, want)
	}
}

func TestDequantizePlain(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	for _, c := range []struct {
		t     Type
		order binary.ByteOrder
		src   []byte
		want  []float32
	}{
		{F32, le, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x80}, []float32{1, float32(math.Copysign(0, -1))}},
		{F32, be, []byte{0x3f, 0x80, 0, 0}, []float32{1}},
		{F16, be, []byte{0x3c, 0x00, 0x7c, 0x00}, []float32{1, float32(math.Inf(1))}},
		{BF16, le, []byte{0x80, 0x3f, 0x80, 0xbf}, []float32{1, -1}},
		{F64, le, le.AppendUint64(nil, math.Float64bits(0.1)), []float32{0.1}},
		{I8, le, []byte{0xff, 0x7f}, []float32{-1, 127}},
		{I16, be, []byte{0xff, 0xfe}, []float32{-2}},
		{I32, le, le.AppendUint32(nil, 1<<24+1), []float32{1 << 24}},
		{I64, le, le.AppendUint64(nil, uint64(1<<62)), []float32{1 << 62}},
	} {
		got := make([]float32, len(c.want))
		if err := Dequantize(c.t, c.order, c.src, got); err != nil {
			t.Fatalf("%s: %v", c.t, err)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(c.want[i]) {
				t.Errorf("%s %v: %v, want %v", c.t, c.order, got, c.want)
			}
		}
	}
	if F16ToF32(0x0001) != float32(math.Ldexp(1, -24)) || F16ToF32(0x8400) != -float32(math.Ldexp(1, -14)) {
		t.Errorf("f16 subnormal/normal limits")
	}
}

func TestDequantizeErrors(t *testing.T) {
	dst := make([]float32, 256)
	for _, c := range []struct {
		t     Type
		order binary.ByteOrder
		n     int
	}{
		{Q4_K, binary.LittleEndian, 143}, // not whole blocks
		{Q4_K, binary.LittleEndian, 288}, // dst too short for two blocks
		{Q4_K, binary.BigEndian, 144},    // blocks in a big-endian file
		{IQ2_XXS, binary.LittleEndian, 66},
		{Type(250), binary.LittleEndian, 4},
	} {
		if err := Dequantize(c.t, c.order, make([]byte, c.n), dst); err == nil {
			t.Errorf("%s %v %d bytes: no error", c.t, c.order, c.n)
		}
	}
}

// BenchmarkDequantize reports elements/s per type (the F32 row is the
// plain decode rate the compare pass is measured against).
func BenchmarkDequantize(b *testing.B) {
	for _, ty := range []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K} {
		b.Run(ty.String(), func(b *testing.B) {
			const n = 1 << 16
			src := make([]byte, n/ty.BlockSize()*ty.BlockBytes())
			r := rand.New(rand.NewPCG(1, 2))
			for i := range src {
				src[i] = byte(r.Uint32() & 0x3b) // keep f16 scales finite
			}
			dst := make([]float32, n)
			b.SetBytes(int64(len(src)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := Dequantize(ty, binary.LittleEndian, src, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elem/s")
		})
	}
}

// TestTypeTraitsMatchGgml checks the block table against
// ggml_get_type_traits of the pinned build, for every type ggml has.
func TestTypeTraitsMatchGgml(t *testing.T) {
	o := newOracle(t)
	out, err := o.run(t, "traits")
	if err != nil {
		t.Fatal(err)
	}
	var traits []struct {
		Type       uint32 `json:"type"`
		Name       string `json:"name"`
		BlockSize  int    `json:"block_size"`
		TypeSize   int    `json:"type_size"`
		HasToFloat bool   `json:"has_to_float"`
	}
	if err := json.Unmarshal(out, &traits); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tr := range traits {
		ty := Type(tr.Type)
		if !ty.Known() {
			continue // newer types (nvfp4, q1_0, ...) are listed by number
		}
		n++
		if !strings.EqualFold(ty.String(), tr.Name) || ty.BlockSize() != tr.BlockSize || ty.BlockBytes() != tr.TypeSize {
			t.Errorf("%s: block %d/%d bytes, ggml %s %d/%d", ty, ty.BlockSize(), ty.BlockBytes(), tr.Name, tr.BlockSize, tr.TypeSize)
		}
		if CanDecode(ty) && !tr.HasToFloat && ty != F32 && ty != F64 && ty < I8 {
			t.Errorf("%s: decoded here, ggml has no to_float", ty)
		}
	}
	if n < 30 {
		t.Errorf("only %d types compared", n)
	}
}
