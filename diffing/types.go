// Package diffing holds refcmp's comparisons: the header-level weights diff
// and the numeric tensor comparison. It takes plain data in and returns
// plain data out; rendering (text, JSON, Markdown, JUnit) lives in cmd.
package diffing

import (
	"io"

	"github.com/refcmp/refcmp/safetensors"
)

// Weight is one entry of a weights listing: a checkpoint header entry or a
// manifest line.
type Weight struct {
	Name  string
	DType safetensors.DType // Unknown when the source does not say
	Shape []int64           // nil when the source does not say; []int64{} for a scalar
}

// Listing is what one source (checkpoint, index, directory, manifest) holds.
type Listing struct {
	Source  string   // the path as given by the user
	Weights []Weight // in source order
	Notes   []string // facts a reader should know, e.g. "shard files absent: shapes unknown"
}

// Tensor is one tensor with its data, ready for numeric comparison.
// Data holds Numel()*DType.Size() bytes, little-endian, in C (row-major)
// order; readers of big-endian or Fortran-order files convert before this.
type Tensor struct {
	Name  string
	DType safetensors.DType
	Shape []int64
	Data  io.ReaderAt
}

// Numel is the number of elements (1 for a scalar, 0 for an empty tensor).
func (t Tensor) Numel() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}
