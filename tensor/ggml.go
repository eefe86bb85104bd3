package tensor

import "strings"

// GGML block types. A GGUF tensor's storage type is a DType too, so that
// listings show it and compare it: the plain ggml types map to the DTypes
// above (F32, F16, BF16, F64, I8..I64) and the block-quantized ones to
// these. A block type has no size per element: Size is 0 and Block gives
// the elements and bytes of one block. A Tensor never has a block DType:
// a reader delivers quantized data decoded (DType F32) with Stored set to
// the block type it was decoded from.
const (
	Q4_0 DType = 64 + iota
	Q4_1
	Q5_0
	Q5_1
	Q8_0
	Q8_1
	Q2_K
	Q3_K
	Q4_K
	Q5_K
	Q6_K
	Q8_K
	IQ2_XXS
	IQ2_XS
	IQ3_XXS
	IQ1_S
	IQ4_NL
	IQ3_S
	IQ2_S
	IQ4_XS
	IQ1_M
	TQ1_0
	TQ2_0
	MXFP4
	ggmlEnd
)

// ggmlBlocks gives each block type's name (as llama.cpp prints it,
// upper-cased), elements per block and bytes per block (ggml.c
// type_traits).
var ggmlBlocks = [...]struct {
	name         string
	elems, bytes int
}{
	Q4_0 - Q4_0: {"Q4_0", 32, 18}, Q4_1 - Q4_0: {"Q4_1", 32, 20},
	Q5_0 - Q4_0: {"Q5_0", 32, 22}, Q5_1 - Q4_0: {"Q5_1", 32, 24},
	Q8_0 - Q4_0: {"Q8_0", 32, 34}, Q8_1 - Q4_0: {"Q8_1", 32, 36},
	Q2_K - Q4_0: {"Q2_K", 256, 84}, Q3_K - Q4_0: {"Q3_K", 256, 110},
	Q4_K - Q4_0: {"Q4_K", 256, 144}, Q5_K - Q4_0: {"Q5_K", 256, 176},
	Q6_K - Q4_0: {"Q6_K", 256, 210}, Q8_K - Q4_0: {"Q8_K", 256, 292},
	IQ2_XXS - Q4_0: {"IQ2_XXS", 256, 66}, IQ2_XS - Q4_0: {"IQ2_XS", 256, 74},
	IQ3_XXS - Q4_0: {"IQ3_XXS", 256, 98}, IQ1_S - Q4_0: {"IQ1_S", 256, 50},
	IQ4_NL - Q4_0: {"IQ4_NL", 32, 18}, IQ3_S - Q4_0: {"IQ3_S", 256, 110},
	IQ2_S - Q4_0: {"IQ2_S", 256, 82}, IQ4_XS - Q4_0: {"IQ4_XS", 256, 136},
	IQ1_M - Q4_0: {"IQ1_M", 256, 56}, TQ1_0 - Q4_0: {"TQ1_0", 256, 54},
	TQ2_0 - Q4_0: {"TQ2_0", 256, 66}, MXFP4 - Q4_0: {"MXFP4", 32, 17},
}

// IsBlock reports whether d is a GGML block type.
func (d DType) IsBlock() bool { return d >= Q4_0 && d < ggmlEnd }

// Block returns the elements and bytes of one block of a GGML block type
// (0, 0 for other dtypes).
func (d DType) Block() (elems, bytes int) {
	if !d.IsBlock() {
		return 0, 0
	}
	b := ggmlBlocks[d-Q4_0]
	return b.elems, b.bytes
}

// parseBlock maps a block type's name in any case ("q4_K", "Q4_K") to it.
func parseBlock(key string) (DType, bool) {
	for i, b := range ggmlBlocks {
		if strings.EqualFold(b.name, key) {
			return Q4_0 + DType(i), true
		}
	}
	return Unknown, false
}
