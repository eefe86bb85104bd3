package main

import "github.com/refcmp/refcmp/tensor"

// storedCells shows a block-quantized GGUF tensor as stored: its GGML
// type (Q4_K) and the bytes its blocks take in the file, with the dtype
// its values are read as in Decoded.
func storedCells(it *inspectTensor, t tensor.Tensor) {
	if !t.Stored.IsBlock() || it.Params == nil {
		return
	}
	elems, bytes := t.Stored.Block()
	if elems <= 0 {
		return
	}
	b := (*it.Params + int64(elems) - 1) / int64(elems) * int64(bytes)
	it.Decoded, it.DType, it.Bytes = it.DType, t.Stored, &b
}
