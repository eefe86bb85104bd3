package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// CanDecode reports whether Dequantize decodes type t. The others (IQ*,
// TQ*, MXFP4, Q8_1, Q8_K and unknown numbers) are listed with their type
// and left out of value comparisons.
func CanDecode(t Type) bool {
	switch t {
	case F32, F16, BF16, F64, I8, I16, I32, I64,
		Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K:
		return true
	}
	return false
}

// Dequantize decodes whole blocks of type t from src into dst, as ggml's
// to_float does (bit for bit; integer types are converted to the nearest
// float32). len(src) must be a whole number of blocks (BlockBytes each)
// and len(dst) the matching number of elements (BlockSize per block), so a
// caller can decode a tensor chunk by chunk without a dequantized copy.
// order is the file's byte order; quantized blocks are decoded from
// little-endian files only (ggml has no big-endian block layout).
func Dequantize(t Type, order binary.ByteOrder, src []byte, dst []float32) error {
	if !CanDecode(t) {
		return fmt.Errorf("gguf: cannot decode %s", t)
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	if len(src)%bb != 0 || len(src)/bb*bs != len(dst) {
		return fmt.Errorf("gguf: %s: %d bytes are not %d elements in whole blocks of %d", t, len(src), len(dst), bs)
	}
	if order == nil {
		order = binary.LittleEndian
	}
	if order != binary.LittleEndian && bs > 1 {
		return fmt.Errorf("gguf: %s blocks in a big-endian file cannot be decoded", t)
	}
	if order == binary.LittleEndian {
		// The common case, without an interface call per element.
		switch t {
		case F32:
			le := binary.LittleEndian
			for i := range dst {
				dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
			}
			return nil
		case F16:
			le := binary.LittleEndian
			for i := range dst {
				dst[i] = F16ToF32(le.Uint16(src[2*i:]))
			}
			return nil
		case BF16:
			le := binary.LittleEndian
			for i := range dst {
				dst[i] = math.Float32frombits(uint32(le.Uint16(src[2*i:])) << 16)
			}
			return nil
		}
	}
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(order.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = F16ToF32(order.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(order.Uint16(src[2*i:])) << 16)
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(order.Uint64(src[8*i:])))
		}
	case I8:
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case I16:
		for i := range dst {
			dst[i] = float32(int16(order.Uint16(src[2*i:])))
		}
	case I32:
		for i := range dst {
			dst[i] = float32(int32(order.Uint32(src[4*i:])))
		}
	case I64:
		for i := range dst {
			dst[i] = float32(int64(order.Uint64(src[8*i:])))
		}
	default:
		blocks(t, src, dst, bb, bs)
	}
	return nil
}

func blocks(t Type, src []byte, dst []float32, bb, bs int) {
	for i := 0; i < len(src)/bb; i++ {
		b := src[i*bb : (i+1)*bb]
		y := dst[i*bs : (i+1)*bs]
		switch t {
		case Q4_0:
			q4_0(b, y)
		case Q4_1:
			q4_1(b, y)
		case Q5_0:
			q5_0(b, y)
		case Q5_1:
			q5_1(b, y)
		case Q8_0:
			q8_0(b, y)
		case Q2_K:
			q2_K(b, y)
		case Q3_K:
			q3_K(b, y)
		case Q4_K:
			q4_K(b, y)
		case Q5_K:
			q5_K(b, y)
		case Q6_K:
			q6_K(b, y)
		}
	}
}

// F16ToF32 converts IEEE half-precision bits to float32 exactly, by the
// same arithmetic as ggml's software fp16 conversion (from the FP16
// library): NaNs keep their payload and come out quiet.
func F16ToF32(h uint16) float32 {
	w := uint32(h) << 16
	sign := w & 0x80000000
	twoW := w + w
	if twoW < 1<<27 {
		// Zero or subnormal: the mantissa placed under a magic exponent.
		den := math.Float32frombits(twoW>>17|126<<23) - 0.5
		return math.Float32frombits(sign | math.Float32bits(den))
	}
	norm := math.Float32frombits((twoW>>4)+0xE0<<23) * 0x1p-112
	return math.Float32frombits(sign | math.Float32bits(norm))
}

func half(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }

// The block decoders follow ggml-quants.c's dequantize_row_* (block
// layouts in ggml-common.h). Every product is converted to float32 before
// it is added to, so that no platform fuses it into an FMA, as the plain
// C build of libggml-base does not.

// block_q4_0: d (f16), qs[16]; value = (nibble - 8) * d.
func q4_0(b []byte, y []float32) {
	d := half(b)
	qs := b[2:18]
	for j := 0; j < 16; j++ {
		y[j] = float32(int(qs[j]&0x0f)-8) * d
		y[j+16] = float32(int(qs[j]>>4)-8) * d
	}
}

// block_q4_1: d, m (f16), qs[16]; value = nibble * d + m.
func q4_1(b []byte, y []float32) {
	d, m := half(b), half(b[2:])
	qs := b[4:20]
	for j := 0; j < 16; j++ {
		y[j] = float32(float32(qs[j]&0x0f)*d) + m
		y[j+16] = float32(float32(qs[j]>>4)*d) + m
	}
}

// block_q5_0: d (f16), qh[4] (u32 LE: bit 5 of each value), qs[16].
func q5_0(b []byte, y []float32) {
	d := half(b)
	qh := binary.LittleEndian.Uint32(b[2:])
	qs := b[6:22]
	for j := 0; j < 16; j++ {
		h0 := ((qh >> uint(j)) << 4) & 0x10
		h1 := (qh >> uint(j+12)) & 0x10
		y[j] = float32(int32(uint32(qs[j]&0x0f)|h0)-16) * d
		y[j+16] = float32(int32(uint32(qs[j]>>4)|h1)-16) * d
	}
}

// block_q5_1: d, m (f16), qh[4], qs[16]; value = q * d + m.
func q5_1(b []byte, y []float32) {
	d, m := half(b), half(b[2:])
	qh := binary.LittleEndian.Uint32(b[4:])
	qs := b[8:24]
	for j := 0; j < 16; j++ {
		h0 := ((qh >> uint(j)) << 4) & 0x10
		h1 := (qh >> uint(j+12)) & 0x10
		y[j] = float32(float32(uint32(qs[j]&0x0f)|h0)*d) + m
		y[j+16] = float32(float32(uint32(qs[j]>>4)|h1)*d) + m
	}
}

// block_q8_0: d (f16), qs[32] int8; value = q * d.
func q8_0(b []byte, y []float32) {
	d := half(b)
	y = y[:32]
	for j, v := range b[2:34] {
		y[j] = float32(int8(v)) * d
	}
}

// block_q2_K: scales[16] (4-bit scale | 4-bit min), qs[64] (2-bit), d, dmin (f16).
func q2_K(b []byte, y []float32) {
	scales := b[0:16]
	q := b[16:80]
	d, dmin := half(b[80:]), half(b[82:])
	is, k := 0, 0
	for n := 0; n < 256; n += 128 {
		shift := uint(0)
		for j := 0; j < 4; j++ {
			sc := scales[is]
			is++
			dl, ml := d*float32(sc&0xf), dmin*float32(sc>>4)
			for l := 0; l < 16; l++ {
				y[k] = float32(dl*float32((q[l]>>shift)&3)) - ml
				k++
			}
			sc = scales[is]
			is++
			dl, ml = d*float32(sc&0xf), dmin*float32(sc>>4)
			for l := 0; l < 16; l++ {
				y[k] = float32(dl*float32((q[l+16]>>shift)&3)) - ml
				k++
			}
			shift += 2
		}
		q = q[32:]
	}
}

// block_q3_K: hmask[32] (high bit), qs[64] (low 2 bits), scales[12]
// (16 6-bit scales), d (f16).
func q3_K(b []byte, y []float32) {
	hm := b[0:32]
	q := b[32:96]
	d := half(b[108:])
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	var aux [4]uint32
	aux[0] = binary.LittleEndian.Uint32(b[96:])
	aux[1] = binary.LittleEndian.Uint32(b[100:])
	tmp := binary.LittleEndian.Uint32(b[104:])
	aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4)
	aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4)
	aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4)
	aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4)
	var scales [16]int8
	for i := range scales {
		scales[i] = int8(aux[i/4] >> (8 * uint(i%4)))
	}
	// Each 16-value group's 8 possible values, dl * (q - 4) with q the
	// 3-bit code (high bit from hmask): a lookup instead of a branch.
	var tbl [8]float32
	k := 0
	bit := uint(0)
	for n, is := 0, 0; n < 256; n += 128 {
		for shift := uint(0); shift < 8; shift, bit = shift+2, bit+1 {
			for half := 0; half < 32; half += 16 {
				dl := d * float32(int(scales[is])-32)
				is++
				for i := range tbl {
					tbl[i] = dl * float32(i-4)
				}
				qq, hh, yy := q[half:half+16], hm[half:half+16], y[k:k+16]
				for l := range yy {
					yy[l] = tbl[((qq[l]>>shift)&3|((hh[l]>>bit)&1)<<2)&7]
				}
				k += 16
			}
		}
		q = q[32:]
	}
}

// scaleMinK4 is ggml's get_scale_min_k4: 6-bit scale and min j of 8,
// packed in 12 bytes.
func scaleMinK4(j int, q []byte) (uint8, uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return (q[j+4] & 0xf) | ((q[j-4] >> 6) << 4), (q[j+4] >> 4) | ((q[j] >> 6) << 4)
}

// block_q4_K: d, dmin (f16), scales[12], qs[128].
func q4_K(b []byte, y []float32) {
	d, dmin := half(b), half(b[2:])
	scales := b[4:16]
	q := b[16:144]
	// Each sub-block's 16 possible values, float32(d1*n) - m1 as ggml
	// computes them, looked up by nibble.
	var t1, t2 [16]float32
	for j, is := 0, 0; j < 256; j, is = j+64, is+2 {
		sc, m := scaleMinK4(is, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(is+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		for n := range t1 {
			t1[n] = float32(d1*float32(n)) - m1
			t2[n] = float32(d2*float32(n)) - m2
		}
		lo, hi := y[j:j+32:j+32], y[j+32:j+64:j+64]
		for l, v := range q[:32] {
			lo[l] = t1[v&0xf]
			hi[l] = t2[v>>4]
		}
		q = q[32:]
	}
}

// block_q5_K: d, dmin (f16), scales[12], qh[32], qs[128].
func q5_K(b []byte, y []float32) {
	d, dmin := half(b), half(b[2:])
	scales := b[4:16]
	qh := b[16:48]
	ql := b[48:176]
	k := 0
	u1, u2 := uint8(1), uint8(2)
	for j, is := 0, 0; j < 256; j, is = j+64, is+2 {
		sc, m := scaleMinK4(is, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(is+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		for l := 0; l < 32; l++ {
			lo, hi := int(ql[l]&0xf), int(ql[l]>>4)
			if qh[l]&u1 != 0 {
				lo += 16
			}
			if qh[l]&u2 != 0 {
				hi += 16
			}
			y[k+l] = float32(d1*float32(lo)) - m1
			y[k+32+l] = float32(d2*float32(hi)) - m2
		}
		k += 64
		ql = ql[32:]
		u1 <<= 2
		u2 <<= 2
	}
}

// block_q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] int8, d (f16).
func q6_K(b []byte, y []float32) {
	ql := b[0:128]
	qh := b[128:192]
	sc := b[192:208]
	d := half(b[208:])
	var ds [8]float32 // d * scale of each 16-value group of a half
	for n := 0; n < 256; n += 128 {
		for i := range ds {
			ds[i] = d * float32(int8(sc[i]))
		}
		yy := y[n : n+128 : n+128]
		for l := 0; l < 32; l++ {
			is := l >> 4
			a, c, h := ql[l], ql[l+32], qh[l]
			yy[l] = ds[is] * float32(int(a&0xf|(h&3)<<4)-32)
			yy[l+32] = ds[is+2] * float32(int(c&0xf|((h>>2)&3)<<4)-32)
			yy[l+64] = ds[is+4] * float32(int(a>>4|((h>>4)&3)<<4)-32)
			yy[l+96] = ds[is+6] * float32(int(c>>4|((h>>6)&3)<<4)-32)
		}
		ql = ql[64:]
		qh = qh[32:]
		sc = sc[8:]
	}
}
