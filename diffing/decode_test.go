package diffing

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

func TestDecodeValues(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	negz := math.Copysign(0, -1)
	u16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	u64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	cases := []struct {
		dt   tensor.DType
		in   []byte
		want float64
	}{
		{tensor.F16, u16(0x0000), 0},
		{tensor.F16, u16(0x8000), negz},
		{tensor.F16, u16(0x3c00), 1},
		{tensor.F16, u16(0x3c01), 1 + 0x1p-10},
		{tensor.F16, u16(0xc000), -2},
		{tensor.F16, u16(0x7bff), 65504},
		{tensor.F16, u16(0x0400), 0x1p-14},
		{tensor.F16, u16(0x03ff), 1023 * 0x1p-24},
		{tensor.F16, u16(0x0001), 0x1p-24},
		{tensor.F16, u16(0x8001), -0x1p-24},
		{tensor.F16, u16(0x7c00), inf},
		{tensor.F16, u16(0xfc00), -inf},
		{tensor.F16, u16(0x7e00), nan},
		{tensor.F16, u16(0xfc01), nan},
		{tensor.BF16, u16(0x3f80), 1},
		{tensor.BF16, u16(0x3f81), 1 + 0x1p-7},
		{tensor.BF16, u16(0x8000), negz},
		{tensor.BF16, u16(0x0001), 0x1p-133},
		{tensor.BF16, u16(0x7f80), inf},
		{tensor.BF16, u16(0xff80), -inf},
		{tensor.BF16, u16(0x7fc0), nan},
		{tensor.F8E4M3, []byte{0x00}, 0},
		{tensor.F8E4M3, []byte{0x80}, negz},
		{tensor.F8E4M3, []byte{0x38}, 1},
		{tensor.F8E4M3, []byte{0x39}, 1.125},
		{tensor.F8E4M3, []byte{0x01}, 0x1p-9},
		{tensor.F8E4M3, []byte{0x07}, 7 * 0x1p-9},
		{tensor.F8E4M3, []byte{0x08}, 0x1p-6},
		{tensor.F8E4M3, []byte{0x7e}, 448},
		{tensor.F8E4M3, []byte{0xfe}, -448},
		{tensor.F8E4M3, []byte{0x78}, 256}, // exponent 15 is finite in the fn variant
		{tensor.F8E4M3, []byte{0x7f}, nan},
		{tensor.F8E4M3, []byte{0xff}, nan},
		{tensor.F8E5M2, []byte{0x3c}, 1},
		{tensor.F8E5M2, []byte{0x3d}, 1.25},
		{tensor.F8E5M2, []byte{0x01}, 0x1p-16},
		{tensor.F8E5M2, []byte{0x04}, 0x1p-14},
		{tensor.F8E5M2, []byte{0x7b}, 57344},
		{tensor.F8E5M2, []byte{0x7c}, inf},
		{tensor.F8E5M2, []byte{0xfc}, -inf},
		{tensor.F8E5M2, []byte{0x7d}, nan},
		{tensor.F8E5M2, []byte{0x80}, negz},
		{tensor.F32, u32(0x00000001), float64(math.Float32frombits(1))},
		{tensor.F32, u32(0x80000000), negz},
		{tensor.F32, u32(0x7f800000), inf},
		{tensor.F32, u32(0x3f800001), float64(math.Nextafter32(1, 2))},
		{tensor.F64, u64(math.Float64bits(-0.1)), -0.1},
		{tensor.F64, u64(1), math.SmallestNonzeroFloat64},
		{tensor.I8, []byte{0xff}, -1},
		{tensor.U8, []byte{0xff}, 255},
		{tensor.Bool, []byte{0x02}, 1},
		{tensor.Bool, []byte{0x00}, 0},
		{tensor.I16, u16(0x8000), -32768},
		{tensor.U16, u16(0xffff), 65535},
		{tensor.I32, u32(0x80000000), math.MinInt32},
		{tensor.U32, u32(0xffffffff), math.MaxUint32},
		{tensor.I64, u64(1 << 63), math.MinInt64},
		{tensor.U64, u64(math.MaxUint64), math.MaxUint64},
	}
	for _, c := range cases {
		got, ok := DecodeValue(c.dt, c.in)
		if !ok {
			t.Errorf("%v % x: not decoded", c.dt, c.in)
			continue
		}
		if !(math.Float64bits(got) == math.Float64bits(c.want) || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("%v % x = %v, want %v", c.dt, c.in, got, c.want)
		}
	}
	if _, ok := DecodeValue(tensor.F32, []byte{1, 2}); ok {
		t.Errorf("short input decoded")
	}
}

// TestDecodeF16Exhaustive checks every binary16 value against an
// independent construction: sign × 2^(e-15) × (1 + m/1024), subnormals
// m × 2^-24.
func TestDecodeF16Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		s, e, m := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case e == 0x1f && m == 0:
			want = math.Inf(1)
		case e == 0x1f:
			want = math.NaN()
		case e == 0:
			want = float64(m) * 0x1p-24
		default:
			want = math.Ldexp(1+float64(m)/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		got := f16ToF64(uint16(h))
		if !(got == want && math.Signbit(got) == math.Signbit(want) || math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("f16 %#04x = %v, want %v", h, got, want)
		}
		if !math.IsNaN(want) && f16Bits(want) != uint16(h) {
			t.Fatalf("f16Bits(%v) = %#04x, want %#04x", want, f16Bits(want), h)
		}
	}
}

func TestRoundFormats(t *testing.T) {
	cases := []struct {
		dt      tensor.DType
		in, out float64
	}{
		{tensor.F16, 1 + 0x1p-11, 1},               // tie to even
		{tensor.F16, 1 + 3*0x1p-11, 1 + 2*0x1p-10}, // tie to even, up
		{tensor.F16, 65520, math.Inf(1)},           // overflow
		{tensor.F16, 0x1p-25, 0},                   // half the smallest subnormal: tie to 0
		{tensor.F16, 0x1.8p-25, 0x1p-24},           // above half: up
		{tensor.BF16, 1 + 0x1p-8, 1},               // tie
		{tensor.BF16, 3.14159265, 3.140625},        // 0x4049
		{tensor.F8E4M3, 460, 448},                  // below the overflow boundary
		{tensor.F8E4M3, 0.3, 0.3125},               // 1.25 × 2^-2
		{tensor.F8E5M2, 1.1, 1},                    //
		{tensor.F32, 0.1, float64(float32(0.1))},   //
		{tensor.F32, -1e-46, math.Copysign(0, -1)}, // underflow keeps sign
	}
	for _, c := range cases {
		f, _ := formatOf(c.dt)
		if got := f.round(c.in); got != c.out || math.Signbit(got) != math.Signbit(c.out) {
			t.Errorf("%v round(%v) = %v, want %v", c.dt, c.in, got, c.out)
		}
	}
}

func BenchmarkDecodeF16(b *testing.B) {
	src := encode(b, tensor.F16, randVals(3, blockElems)) // activations: no NaN
	dst := make([]float64, blockElems)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		decodeF16(dst, src)
	}
}

// TestDecodeInPlace checks that reading aligned bytes in place and
// decoding misaligned ones byte by byte give the same bits, for every
// dtype read in place (random bit patterns: NaNs, Infs, subnormals).
func TestDecodeInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dt := range []tensor.DType{tensor.F64, tensor.F32, tensor.F16, tensor.BF16} {
		n := 1000
		buf := make([]byte, n*dt.Size()+8)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		dec := decoderFor(dt)
		// Offset 0 of a Go allocation is aligned; 8 more bytes make room
		// for a misaligned view of the same elements.
		aligned := buf[:n*dt.Size()]
		misaligned := make([]byte, len(buf))[1 : 1+len(aligned)]
		copy(misaligned, aligned)
		if _, ok := native[uint16](misaligned); ok {
			t.Fatalf("%v: a misaligned buffer was read in place", dt)
		}
		a, b := make([]float64, n), make([]float64, n)
		dec(a, aligned)
		dec(b, misaligned)
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
				t.Fatalf("%v element %d: in place %x, byte by byte %x", dt, i, math.Float64bits(a[i]), math.Float64bits(b[i]))
			}
		}
		// Each element alone (no kernel, no view): every length's tail and
		// the AVX2 decoders agree with the one-element formula.
		for _, m := range []int{1, 3, 4, 5, 8, 13, n} {
			got := make([]float64, m)
			dec(got, aligned[:m*dt.Size()])
			for i := range got {
				var one [1]float64
				dec(one[:], append([]byte(nil), aligned[i*dt.Size():(i+1)*dt.Size()]...)[:dt.Size()])
				if math.Float64bits(got[i]) != math.Float64bits(one[0]) {
					t.Fatalf("%v length %d element %d: %x, alone %x", dt, m, i, math.Float64bits(got[i]), math.Float64bits(one[0]))
				}
			}
		}
	}
}

func BenchmarkDecodeF32(b *testing.B) {
	src := make([]byte, 4*blockElems)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := make([]float64, blockElems)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		decodeF32(dst, src)
	}
}
