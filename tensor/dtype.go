package tensor

import (
	"fmt"
	"strings"
)

// DType is an element type. The zero value, Unknown, means "not given"
// (a manifest line that names no dtype).
type DType uint8

const (
	Unknown DType = iota
	Bool
	U8
	I8
	U16
	I16
	U32
	I32
	U64
	I64
	F8E4M3 // float8_e4m3fn: 1 sign, 4 exponent, 3 mantissa bits, no infinities
	F8E5M2 // float8_e5m2: 1 sign, 5 exponent, 2 mantissa bits
	F16
	BF16
	F32
	F64
)

var dtypeNames = [...]string{
	Unknown: "",
	Bool:    "BOOL",
	U8:      "U8",
	I8:      "I8",
	U16:     "U16",
	I16:     "I16",
	U32:     "U32",
	I32:     "I32",
	U64:     "U64",
	I64:     "I64",
	F8E4M3:  "F8_E4M3",
	F8E5M2:  "F8_E5M2",
	F16:     "F16",
	BF16:    "BF16",
	F32:     "F32",
	F64:     "F64",
}

var dtypeSizes = [...]int{
	Bool: 1, U8: 1, I8: 1, U16: 2, I16: 2, U32: 4, I32: 4, U64: 8, I64: 8,
	F8E4M3: 1, F8E5M2: 1, F16: 2, BF16: 2, F32: 4, F64: 8,
}

// String returns the safetensors spelling of d ("F32", "BF16", "F8_E4M3"...),
// or "" for Unknown.
func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	if d.IsBlock() {
		return ggmlBlocks[d-Q4_0].name
	}
	return fmt.Sprintf("DType(%d)", d)
}

// Size is the size of one element in bytes (0 for Unknown and for the
// GGML block types, see Block).
func (d DType) Size() int {
	if int(d) < len(dtypeSizes) {
		return dtypeSizes[d]
	}
	return 0
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d >= F8E4M3 && d <= F64 }

// IsSigned reports whether d is a signed integer type.
func (d DType) IsSigned() bool { return d == I8 || d == I16 || d == I32 || d == I64 }

// MarshalText writes the safetensors spelling; Unknown marshals as "".
func (d DType) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText accepts every spelling ParseDType does.
func (d *DType) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Unknown
		return nil
	}
	v, err := ParseDType(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// dtypeAliases maps lower-cased spellings (after stripping a "torch." or
// "np."/"numpy." prefix) to dtypes: safetensors, PyTorch, numpy, GGML,
// Rust and C spellings.
var dtypeAliases = map[string]DType{
	"bool": Bool, "b1": Bool, "?": Bool,
	"u8": U8, "uint8": U8, "ubyte": U8, "uchar": U8,
	"i8": I8, "int8": I8, "byte": I8, "char": I8, "schar": I8,
	"u16": U16, "uint16": U16, "ushort": U16,
	"i16": I16, "int16": I16, "short": I16,
	"u32": U32, "uint32": U32, "uint": U32,
	"i32": I32, "int32": I32, "int": I32, "intc": I32,
	"u64": U64, "uint64": U64, "ulong": U64,
	"i64": I64, "int64": I64, "long": I64, "int_": I64,
	"f8_e4m3": F8E4M3, "f8e4m3": F8E4M3, "float8_e4m3fn": F8E4M3, "float8_e4m3": F8E4M3, "e4m3": F8E4M3, "f8_e4m3fn": F8E4M3,
	"f8_e5m2": F8E5M2, "f8e5m2": F8E5M2, "float8_e5m2": F8E5M2, "e5m2": F8E5M2,
	"f16": F16, "float16": F16, "half": F16, "fp16": F16,
	"bf16": BF16, "bfloat16": BF16,
	"f32": F32, "float32": F32, "float": F32, "fp32": F32, "single": F32,
	"f64": F64, "float64": F64, "double": F64, "fp64": F64,
}

// ParseDType parses a dtype in any common spelling: "F32", "float32",
// "torch.float32", "f32", "BF16", "bfloat16", "np.float16", "F8_E4M3"...
func ParseDType(s string) (DType, error) {
	key := strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{"torch.", "numpy.", "np.", "jnp.", "mx."} {
		key = strings.TrimPrefix(key, p)
	}
	if d, ok := dtypeAliases[key]; ok {
		return d, nil
	}
	if d, ok := parseBlock(key); ok {
		return d, nil
	}
	return Unknown, fmt.Errorf("unknown dtype %q", s)
}
