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
// # Values
//
// Dequantize(type, byteOrder, src, dst) decodes whole blocks (BlockSize
// elements in BlockBytes bytes, per Type) of F32, F16, BF16, F64, I8..I64,
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K, bit for
// bit as ggml's to_float; CanDecode says which. File.Decode streams one
// tensor chunk by chunk through an io.ReaderAt (no dequantized copy of the
// tensor); File.DataRange gives its bytes. Other types (IQ*, TQ*, MXFP4)
// are listed and left out.
//
// ExpectedNMSE(type) and QuantErrorOf(type) give what quantizing
// weight-like data to a type costs (NMSE min/median/max), measured with
// ggml's own quantizer by scripts/make_qerror.py into qerror.json.
//
// # Presets
//
// A Preset (ParsePreset for a user's file, BuiltinPreset(name) and
// PresetNames for the embedded presets/*.preset: llama, mistral, mixtral,
// qwen2, gemma, gemma2, gemma3, phi3) maps HF names to GGUF names and back
// (ToGGUF, ToHF, Dropped, Extra) and carries each rule's value transforms
// as data: Q/K permute with its head-count param, Gemma's +1, stacked
// experts, fused tensors, tied heads.
//
// # llama.cpp logs
//
// ParseLog reads llama.cpp output: the model loader's "- tensor N: NAME
// TYPE [dims]" lines and the converter's "INFO:hf-to-gguf:NAME, dtype -->
// TYPE, shape = {...}" lines as manifest entries in PyTorch order
// (Log.Loader, Log.Converter), and eval-callback dumps as partial tensors
// (Log.Eval: the printed values at their true indices, and the sum).
//
// The facts read here are checked against llama.cpp's own gguf.cpp, and the
// values against its to_float and quantizer (the pinned libggml-base.so
// of npm @node-llama-cpp/linux-x64, driven by scripts/ggml_oracle.py;
// scripts/hf_to_gguf_mini.py makes converted test models) on every file
// the tests touch.
package gguf
