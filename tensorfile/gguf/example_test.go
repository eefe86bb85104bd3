package gguf_test

import (
	"encoding/binary"
	"fmt"

	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// Dequantize decodes whole blocks as ggml's to_float does: a Q8_0 block
// is an F16 scale d and 32 int8 quants q, each value d·q.
func ExampleDequantize() {
	block := make([]byte, gguf.Q8_0.BlockBytes())
	binary.LittleEndian.PutUint16(block, 0x3800) // d = 0.5 in F16
	for i := range gguf.Q8_0.BlockSize() {
		block[2+i] = byte(int8(i - 16))
	}
	vals := make([]float32, gguf.Q8_0.BlockSize())
	if err := gguf.Dequantize(gguf.Q8_0, binary.LittleEndian, block, vals); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(gguf.Q8_0, gguf.Q8_0.BlockSize(), "values in", gguf.Q8_0.BlockBytes(), "bytes:", vals[:4], vals[31])
	// Output:
	// Q8_0 32 values in 34 bytes: [-8 -7.5 -7 -6.5] 7.5
}
