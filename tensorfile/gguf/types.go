package gguf

import (
	"strconv"
	"strings"
)

// Type is a ggml tensor type number (enum ggml_type in ggml.h), as stored
// in a GGUF tensor info. Numbers refcmp does not know are kept as they are.
type Type uint32

// The ggml types refcmp knows (numbers from ggml/include/ggml.h; the gaps
// are types ggml removed).
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
)

type traits struct {
	name  string
	block int // elements per block
	bytes int // bytes per block
}

// typeTraits mirrors ggml's type_traits table (block size, type size) for
// the types a GGUF file may hold; TestTypeTraitsMatchGgml checks it against
// ggml_get_type_traits of the pinned llama.cpp build.
func typeTraits(t Type) (traits, bool) {
	switch t {
	case F32:
		return traits{"F32", 1, 4}, true
	case F16:
		return traits{"F16", 1, 2}, true
	case Q4_0:
		return traits{"Q4_0", 32, 18}, true
	case Q4_1:
		return traits{"Q4_1", 32, 20}, true
	case Q5_0:
		return traits{"Q5_0", 32, 22}, true
	case Q5_1:
		return traits{"Q5_1", 32, 24}, true
	case Q8_0:
		return traits{"Q8_0", 32, 34}, true
	case Q8_1:
		return traits{"Q8_1", 32, 36}, true
	case Q2_K:
		return traits{"Q2_K", 256, 84}, true
	case Q3_K:
		return traits{"Q3_K", 256, 110}, true
	case Q4_K:
		return traits{"Q4_K", 256, 144}, true
	case Q5_K:
		return traits{"Q5_K", 256, 176}, true
	case Q6_K:
		return traits{"Q6_K", 256, 210}, true
	case Q8_K:
		return traits{"Q8_K", 256, 292}, true
	case IQ2_XXS:
		return traits{"IQ2_XXS", 256, 66}, true
	case IQ2_XS:
		return traits{"IQ2_XS", 256, 74}, true
	case IQ3_XXS:
		return traits{"IQ3_XXS", 256, 98}, true
	case IQ1_S:
		return traits{"IQ1_S", 256, 50}, true
	case IQ4_NL:
		return traits{"IQ4_NL", 32, 18}, true
	case IQ3_S:
		return traits{"IQ3_S", 256, 110}, true
	case IQ2_S:
		return traits{"IQ2_S", 256, 82}, true
	case IQ4_XS:
		return traits{"IQ4_XS", 256, 136}, true
	case I8:
		return traits{"I8", 1, 1}, true
	case I16:
		return traits{"I16", 1, 2}, true
	case I32:
		return traits{"I32", 1, 4}, true
	case I64:
		return traits{"I64", 1, 8}, true
	case F64:
		return traits{"F64", 1, 8}, true
	case IQ1_M:
		return traits{"IQ1_M", 256, 56}, true
	case BF16:
		return traits{"BF16", 1, 2}, true
	case TQ1_0:
		return traits{"TQ1_0", 256, 54}, true
	case TQ2_0:
		return traits{"TQ2_0", 256, 66}, true
	case MXFP4:
		return traits{"MXFP4", 32, 17}, true
	}
	return traits{}, false
}

// String is the type's name as llama.cpp's loader prints it, upper-cased
// ("F32", "Q4_K"), or "type(N)" for a number refcmp does not know.
func (t Type) String() string {
	if tr, ok := typeTraits(t); ok {
		return tr.name
	}
	return "type(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// Known reports whether refcmp knows the type's block layout (so a tensor
// of it has a byte size), whether or not it can decode it.
func (t Type) Known() bool {
	_, ok := typeTraits(t)
	return ok
}

// BlockSize is the number of elements in one block (1 for plain types), 0
// for an unknown type.
func (t Type) BlockSize() int {
	tr, _ := typeTraits(t)
	return tr.block
}

// BlockBytes is the size in bytes of one block, 0 for an unknown type.
func (t Type) BlockBytes() int {
	tr, _ := typeTraits(t)
	return tr.bytes
}

// ParseType maps a type name ("Q4_K", "q4_k", "f32", "BF16") to its number.
func ParseType(s string) (Type, bool) {
	for t := Type(0); t < 64; t++ {
		if tr, ok := typeTraits(t); ok && strings.EqualFold(tr.name, s) {
			return t, true
		}
	}
	return 0, false
}
