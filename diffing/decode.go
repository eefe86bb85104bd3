package diffing

import (
	"encoding/binary"
	"math"

	"github.com/refcmp/refcmp/tensor"
)

// A decoder converts len(dst) little-endian elements from src (which holds
// exactly len(dst)*size bytes) to float64. Every dtype converts exactly:
// float64 holds every F32, F16, BF16 and F8 value, and every integer up to
// 2^53 in magnitude (larger 64-bit integers round to nearest, which is why
// exact comparisons of same-dtype integers compare the raw bytes, and
// integer pairs with a 64-bit side take their differences from the
// integers themselves: see compare_int.go).
type decoder func(dst []float64, src []byte)

// decoderFor returns the decoder for dt, or nil when dt has none.
// 8-bit types decode through a 256-entry table built here (per call, so
// there is no package state).
func decoderFor(dt tensor.DType) decoder {
	switch dt {
	case tensor.F64:
		return decodeF64
	case tensor.F32:
		return decodeF32
	case tensor.F16:
		return decodeF16
	case tensor.BF16:
		return decodeBF16
	case tensor.I64:
		return decodeI64
	case tensor.U64:
		return decodeU64
	case tensor.I32:
		return decodeI32
	case tensor.U32:
		return decodeU32
	case tensor.I16:
		return decodeI16
	case tensor.U16:
		return decodeU16
	case tensor.F8E4M3, tensor.F8E5M2, tensor.I8, tensor.U8, tensor.Bool:
		tab := byteTable(dt)
		return func(dst []float64, src []byte) {
			src = src[:len(dst)]
			for i, b := range src {
				dst[i] = tab[b]
			}
		}
	}
	return nil
}

// byteTable gives the value of every byte for a one-byte dtype.
func byteTable(dt tensor.DType) *[256]float64 {
	var t [256]float64
	for i := range t {
		b := uint8(i)
		switch dt {
		case tensor.F8E4M3:
			t[i] = e4m3ToF64(b)
		case tensor.F8E5M2:
			t[i] = e5m2ToF64(b)
		case tensor.I8:
			t[i] = float64(int8(b))
		case tensor.U8:
			t[i] = float64(b)
		case tensor.Bool:
			if b != 0 {
				t[i] = 1
			}
		}
	}
	return &t
}

// e4m3ToF64 decodes float8_e4m3fn: bias 7, no infinities, 0x7f and 0xff
// are NaN, largest finite 448, smallest subnormal 2^-9.
func e4m3ToF64(b uint8) float64 {
	sign := 1.0
	if b&0x80 != 0 {
		sign = -1
	}
	e := int(b>>3) & 0xf
	m := float64(b & 7)
	switch {
	case e == 0xf && b&7 == 7:
		return math.NaN()
	case e == 0:
		return sign * m * 0x1p-9
	}
	return sign * math.Ldexp(1+m/8, e-7)
}

// e5m2ToF64 decodes float8_e5m2 (IEEE-like: bias 15, infinities and NaN
// at exponent 31, largest finite 57344, smallest subnormal 2^-16).
func e5m2ToF64(b uint8) float64 {
	sign := 1.0
	if b&0x80 != 0 {
		sign = -1
	}
	e := int(b>>2) & 0x1f
	m := float64(b & 3)
	switch {
	case e == 0x1f && m == 0:
		return sign * math.Inf(1)
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return sign * m * 0x1p-16
	}
	return sign * math.Ldexp(1+m/4, e-15)
}

// f16ToF64 decodes an IEEE binary16 value exactly.
func f16ToF64(h uint16) float64 {
	b := uint64(h)
	sign := (b & 0x8000) << 48
	em := b & 0x7fff
	v := sign | (em<<42 + (1023-15)<<52) // normal numbers
	if em < 0x400 {                      // zero and subnormals: m * 2^-24
		v = sign | math.Float64bits(float64(em)*0x1p-24)
	}
	if em >= 0x7c00 { // Inf and NaN (payload kept)
		v = sign | 0x7ff<<52 | (em&0x3ff)<<42
	}
	return math.Float64frombits(v)
}

func decodeF64(dst []float64, src []byte) {
	src = src[:8*len(dst)]
	if f, ok := native[float64](src); ok {
		copy(dst, f)
		return
	}
	for i := range dst {
		dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:]))
	}
}

func decodeF32(dst []float64, src []byte) {
	src = src[:4*len(dst)]
	if probeAsm && len(dst) >= 4 {
		k := len(dst) &^ 3
		var nan uint64
		decodeF32AVX2(dst[:k], src, &nan)
		dst, src = dst[k:], src[4*k:]
	}
	if f, ok := native[float32](src); ok {
		dst = dst[:len(f)]
		for i, v := range f {
			dst[i] = float64(v)
		}
		return
	}
	for i := range dst {
		dst[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:])))
	}
}

func decodeF16(dst []float64, src []byte) {
	src = src[:2*len(dst)]
	if probeAsm && len(dst) >= 4 {
		k := len(dst) &^ 3
		var nan uint64
		decodeF16AVX2(dst[:k], src, &nan)
		// The conversion quiets a signaling NaN; f16ToF64 keeps its
		// payload as it is.
		for i, x := range dst[:k] {
			if nan == 0 {
				break
			}
			if x != x {
				dst[i] = f16ToF64(binary.LittleEndian.Uint16(src[2*i:]))
			}
		}
		dst, src = dst[k:], src[2*k:]
	}
	if h, ok := native[uint16](src); ok {
		dst = dst[:len(h)]
		for i, v := range h {
			dst[i] = f16ToF64(v)
		}
		return
	}
	for i := range dst {
		dst[i] = f16ToF64(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

func decodeBF16(dst []float64, src []byte) {
	src = src[:2*len(dst)]
	if probeAsm && len(dst) >= 4 {
		k := len(dst) &^ 3
		var nan uint64
		decodeBF16AVX2(dst[:k], src, &nan)
		dst, src = dst[k:], src[2*k:]
	}
	if h, ok := native[uint16](src); ok {
		dst = dst[:len(h)]
		for i, v := range h {
			dst[i] = float64(math.Float32frombits(uint32(v) << 16))
		}
		return
	}
	for i := range dst {
		dst[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16))
	}
}

func decodeI64(dst []float64, src []byte) {
	src = src[:8*len(dst)]
	for i := range dst {
		dst[i] = float64(int64(binary.LittleEndian.Uint64(src[8*i:])))
	}
}

func decodeU64(dst []float64, src []byte) {
	src = src[:8*len(dst)]
	for i := range dst {
		dst[i] = float64(binary.LittleEndian.Uint64(src[8*i:]))
	}
}

func decodeI32(dst []float64, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = float64(int32(binary.LittleEndian.Uint32(src[4*i:])))
	}
}

func decodeU32(dst []float64, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = float64(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func decodeI16(dst []float64, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = float64(int16(binary.LittleEndian.Uint16(src[2*i:])))
	}
}

func decodeU16(dst []float64, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = float64(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// DecodeValue decodes the single element at the start of b (little-endian)
// as float64. It is exported for renderers and readers that show a value.
func DecodeValue(dt tensor.DType, b []byte) (float64, bool) {
	dec := decoderFor(dt)
	if dec == nil || len(b) < dt.Size() {
		return 0, false
	}
	var v [1]float64
	dec(v[:], b[:dt.Size()])
	return v[0], true
}

// floatFormat describes a binary floating-point format for rounding:
// p significand bits (with the implicit one), emin the exponent of the
// smallest normal number, maxFinite its largest finite value.
type floatFormat struct {
	dtype     tensor.DType
	p, emin   int
	maxFinite float64
}

func formatOf(dt tensor.DType) (floatFormat, bool) {
	switch dt {
	case tensor.F32:
		return floatFormat{dt, 24, -126, math.MaxFloat32}, true
	case tensor.F16:
		return floatFormat{dt, 11, -14, 65504}, true
	case tensor.BF16:
		return floatFormat{dt, 8, -126, 0x1.fep127}, true
	case tensor.F8E4M3:
		return floatFormat{dt, 4, -6, 448}, true
	case tensor.F8E5M2:
		return floatFormat{dt, 3, -14, 57344}, true
	}
	return floatFormat{}, false
}

// round rounds x to the format, to nearest with ties to even; values
// beyond the largest finite one become infinities.
func (f floatFormat) round(x float64) float64 {
	if x == 0 || x-x != 0 {
		return x
	}
	_, e := math.Frexp(x) // |x| = m·2^e, m in [0.5, 1)
	ee := max(e-1, f.emin)
	ulp := math.Ldexp(1, ee-(f.p-1))
	r := math.RoundToEven(x/ulp) * ulp
	if math.Abs(r) > f.maxFinite {
		return math.Copysign(math.Inf(1), x)
	}
	return r
}

// ulp is the spacing of the format's numbers at x (x finite).
func (f floatFormat) ulp(x float64) float64 {
	if x == 0 {
		return math.Ldexp(1, f.emin-(f.p-1))
	}
	_, e := math.Frexp(x)
	return math.Ldexp(1, max(e-1, f.emin)-(f.p-1))
}
