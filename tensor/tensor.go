package tensor

import (
	"fmt"
	"io"
	"math"
)

// Info is one entry of a listing: a checkpoint header entry or a
// manifest line, without data.
type Info struct {
	Name  string
	DType DType   // Unknown when the source does not say
	Shape []int64 // nil when the source does not say; []int64{} for a scalar
}

// Listing is what one source (checkpoint, index, directory, manifest) holds.
type Listing struct {
	Source  string   // the path as given by the user
	Weights []Info   // in source order
	Notes   []string // facts a reader should know, e.g. "shard files absent: shapes unknown"
}

// Tensor is one tensor with its data, ready for numeric comparison.
// Data holds Numel()*DType.Size() bytes, little-endian, in C (row-major)
// order; readers of big-endian or Fortran-order files convert before this.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64
	Data  io.ReaderAt
	// Stored is the file's storage type when Data is a decoded view of
	// it: a GGML block type (Q4_K...) whose values Data yields as F32.
	// Unknown when the data is stored as DType.
	Stored DType
}

// Numel is the number of elements (1 for a scalar, 0 for an empty tensor).
// A tensor with data always has a shape, so a nil Shape counts as a
// scalar here, as Compare reads it; for shapes the function Numel cannot
// count (negative or overflowing) it returns what Numel returns.
func (t Tensor) Numel() int64 {
	if t.Shape == nil {
		return 1
	}
	n, _ := Numel(t.Shape)
	return n
}

// Numel is the element count of shape: the product of its dimensions, 1
// for a scalar ([]int64{}). A zero dimension makes the count 0 whatever
// the other dimensions are. ok is false, with one rule for every caller,
// when the count is not a number of elements:
//   - nil shape (unknown) or a negative dimension: n is 0;
//   - a product above math.MaxInt64: n saturates at math.MaxInt64.
func Numel(shape []int64) (n int64, ok bool) {
	if shape == nil {
		return 0, false
	}
	n, ok = 1, true
	for _, d := range shape {
		switch {
		case d < 0:
			return 0, false
		case d == 0:
			n = 0
		case ok && n != 0 && n > math.MaxInt64/d:
			n, ok = math.MaxInt64, false
		case ok:
			n *= d
		}
	}
	if n == 0 {
		return 0, true
	}
	return n, ok
}

// FormatShape writes a shape as [4096 32000]; a scalar is [] and an
// unknown shape "?".
func FormatShape(s []int64) string {
	if s == nil {
		return "?"
	}
	b := []byte{'['}
	for i, d := range s {
		if i > 0 {
			b = append(b, ' ')
		}
		b = fmt.Appendf(b, "%d", d)
	}
	return string(append(b, ']'))
}

// Unravel turns a flat C-order index into a multi-dimensional one.
func Unravel(flat int64, shape []int64) []int64 {
	idx := make([]int64, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		if d := shape[i]; d > 0 {
			idx[i] = flat % d
			flat /= d
		}
	}
	return idx
}
