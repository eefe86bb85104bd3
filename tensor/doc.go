// Package tensor holds the types every other refcmp package shares: the
// element type DType, a tensor with its data (Tensor), a header entry
// without data (Info) and what one source lists (Listing), the element
// count Numel with its one overflow rule, shape formatting, in-memory data
// (MemData), the JSON-safe float (Float) and the natural order of names
// (NaturalCompare: layers.2 before layers.10).
//
// It imports nothing of refcmp. The readers (safetensors, tensorfile)
// produce these types and the comparisons (diffing and its subpackages)
// consume them, as image/png and image/jpeg produce the types of package
// image.
package tensor
