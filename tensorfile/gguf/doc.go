// Package gguf reads GGUF files (llama.cpp's model format) header-first,
// decodes their tensor data block by block, and carries the data refcmp
// needs to compare a GGUF conversion with its Hugging Face source.
//
// It imports only the standard library.
//
// # Reading
//
// Open(path) or Read(r, size, name, budget) read the header: metadata
// (File.KV, every value type including nested arrays, strings byte-exact),
// tensor infos (File.Tensors), the alignment (general.alignment; an
// integer of another type than u32 is accepted with a note) and the data
// offset. GGUF v2 and v3 are read in both byte orders (big-endian is
// detected from the version field, as gguf-py's --bigendian writes it).
// Vocab-only files have zero tensors; a file cut off inside the tensor
// data is read header-only (File.DataMissing); n_dims 0 is a scalar;
// unknown ggml types are listed by number (Type.Known false, Bytes -1)
// with a note. Reads go through io.ReaderAt only, and every count is
// checked against a Budget and the bytes left before anything is
// allocated. Malformed input returns an *Error (file, byte offset, key or
// tensor) that matches errors.Is(err, ErrFormat).
//
// Shapes: TensorInfo.Dims is GGUF's order, innermost dimension first (ggml
// ne[]); TensorInfo.Shape is PyTorch order (Dims reversed). Compare and
// present shapes in PyTorch order.
//
// The facts read here are checked against llama.cpp's own gguf.cpp (the
// pinned libggml-base.so of npm @node-llama-cpp/linux-x64, driven by
// scripts/ggml_oracle.py) on every file the tests touch.
package gguf
