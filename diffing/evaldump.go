package diffing

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// EvalCheck is a full reference tensor compared with a partial one:
// a node of llama.cpp's eval-callback dump (gguf.EvalTensor), which holds
// its shape, a few printed values and the sum of all its values. Only
// those are compared, and the result says so (Printed of Numel).
//
// A printed value v at flat position i passes when
//
//	|v - ref[i]| <= gguf.EvalValueTolerance + atol + rtol*|ref[i]|
//
// (half its last printed digit, plus the pair's tolerance), and the
// printed sum s when
//
//	|s - Σref| <= 0.5e-6 + n*2^-24*Σ|ref| + n*atol + rtol*Σ|ref|
//
// (half its last printed digit, the worst-case error of llama.cpp's
// float32 accumulation over n values, and the tolerance summed).
type EvalCheck struct {
	Name     string          `json:"name"`     // the dump's node name
	RefName  string          `json:"ref_name"` // the REF tensor compared
	Op       string          `json:"op"`
	Line     int             `json:"line"`
	Shape    []int64         `json:"shape"`     // the dump's, PyTorch order
	RefShape []int64         `json:"ref_shape"` // the reference's
	ShapeOK  bool            `json:"shape_ok"`
	Numel    int64           `json:"numel"`
	Printed  int             `json:"printed"` // values compared
	Bad      []EvalValueDiff `json:"bad"`     // printed values out of tolerance
	HasSum   bool            `json:"has_sum"`
	Sum      float64         `json:"sum"`     // printed
	RefSum   float64         `json:"ref_sum"` // of the reference
	SumLimit float64         `json:"sum_limit"`
	SumOK    bool            `json:"sum_ok"`
	Pass     bool            `json:"pass"`
}

// EvalValueDiff is one printed value out of tolerance.
type EvalValueDiff struct {
	Index   []int64 `json:"index"` // PyTorch order
	Printed float64 `json:"printed"`
	Ref     float64 `json:"ref"`
	Limit   float64 `json:"limit"`
}

// evalChunk bounds the elements read at a time.
const evalChunk = 1 << 16

// CompareEval compares the dumped node e with the full reference ref
// under tol (its Atol and Rtol, 0 for --exact; for the cosine, nmse and
// max-abs checks the default allclose tolerance of ref's dtype).
func CompareEval(ref tensor.Tensor, e gguf.EvalTensor, tol Tolerance) (EvalCheck, error) {
	c := EvalCheck{Name: e.Name, RefName: ref.Name, Op: e.Op, Line: e.Line, Shape: e.Shape, RefShape: ref.Shape,
		Printed: len(e.Values), HasSum: e.HasSum, Sum: e.Sum}
	n := int64(1)
	for _, d := range e.Dims {
		n *= d
	}
	c.Numel = n
	c.ShapeOK = ref.Numel() == n && slices.Equal(trimOnes(ref.Shape), trimOnes(e.Shape))
	if !c.ShapeOK {
		return c, nil
	}
	dec := decoderFor(ref.DType)
	if dec == nil {
		return c, fmt.Errorf("%s: dtype %s cannot be compared", ref.Name, ref.DType)
	}
	atol, rtol := tol.Atol, tol.Rtol
	switch {
	case tol.Exact:
		atol, rtol = 0, 0 // the printing's rounding only
	case tol.Check != CheckAllClose && tol.Check != "":
		d := DefaultTolerance(ref.DType, ref.DType)
		atol, rtol = d.Atol, d.Rtol
	}
	vals := slices.Clone(e.Values)
	slices.SortFunc(vals, func(a, b gguf.EvalValue) int { return int(min(max(a.Flat-b.Flat, -1), 1)) })
	es := int64(ref.DType.Size())
	buf := make([]byte, evalChunk*es)
	f := make([]float64, evalChunk)
	var sum, abs float64
	vi := 0
	for at := int64(0); at < n; at += evalChunk {
		k := min(evalChunk, n-at)
		if _, err := ref.Data.ReadAt(buf[:k*es], at*es); err != nil && err != io.EOF {
			return c, fmt.Errorf("%s: %w", ref.Name, err)
		}
		dec(f[:k], buf[:k*es])
		for _, x := range f[:k] {
			sum += x
			abs += math.Abs(x)
		}
		for ; vi < len(vals) && vals[vi].Flat < at+k; vi++ {
			v := vals[vi]
			r := f[v.Flat-at]
			lim := gguf.EvalValueTolerance + atol + rtol*math.Abs(r)
			if !(math.Abs(v.Value-r) <= lim) && !(math.IsNaN(v.Value) && math.IsNaN(r)) && !(math.IsInf(r, 0) && v.Value == r) {
				c.Bad = append(c.Bad, EvalValueDiff{Index: torchIndex(v.Index, len(e.Shape)), Printed: v.Value, Ref: r, Limit: lim})
			}
		}
	}
	c.RefSum = sum
	c.SumLimit = 0.5e-6 + float64(n)*0x1p-24*abs + float64(n)*atol + rtol*abs
	c.SumOK = !e.HasSum || math.Abs(e.Sum-sum) <= c.SumLimit || (math.IsNaN(e.Sum) && math.IsNaN(sum))
	c.Pass = len(c.Bad) == 0 && c.SumOK
	return c, nil
}

// trimOnes drops leading 1s (a [1, 3, 64] activation is a [3, 64] node).
func trimOnes(s []int64) []int64 {
	for len(s) > 0 && s[0] == 1 {
		s = s[1:]
	}
	return s
}

// torchIndex turns a ggml index (i0 innermost) into PyTorch order, nd
// dimensions.
func torchIndex(ix [4]int64, nd int) []int64 {
	out := make([]int64, nd)
	for i := 0; i < nd && i < 4; i++ {
		out[nd-1-i] = ix[i]
	}
	return out
}

// EvalSummary says what a partial comparison compared
// ("partial: 12 printed values and the sum compared of 65536 elements").
func (c EvalCheck) EvalSummary() string {
	what := fmt.Sprintf("%d printed values", c.Printed)
	if c.HasSum {
		what += " and the sum"
	}
	return fmt.Sprintf("partial: %s compared of %d elements", what, c.Numel)
}
