package diffing

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/tensor"
)

// Tensor hint kinds of a GGUF conversion read through a preset.
const (
	TensorHintUnpermuted   = "unpermuted"  // Q/K rows not permuted for NORM RoPE
	TensorHintNormOffset   = "norm_offset" // Gemma's +1 missing or applied twice
	TensorHintLayerSwap    = "layer_swap"  // layer A holds layer B's data
	convSampleHeads        = 2             // heads of rows the un-permuted hypothesis is tested on
	normOffsetRelTolerance = 1e-4
)

// Conversion is a tensor of the converted side (GGUF) read through a
// preset's transforms, for ConversionHints: the tensor as stored and
// which transform the view applies.
type Conversion struct {
	Raw     tensor.Tensor // the data as stored, under the HF name
	Heads   int64         // > 0: rows un-permuted with this head count
	Add     float64       // != 0: this offset taken off every value
	Layer   int           // the layer index, -1 if none
	Pattern string        // the HF name with {N} for the layer
}

// ConversionHints explains failing pairs of a conversion in its terms,
// each hint tested on the data: a Q/K tensor whose stored rows match the
// source without llama.cpp's permutation ("looks un-permuted for NORM
// RoPE"), a norm that differs by exactly the preset's offset (Gemma's +1
// missing or applied twice), and a layer whose data matches another
// layer's reference (swapped layers). conv holds the converted side's
// tensors by HF name; convIsOurs says which side it is.
func ConversionHints(rep *Report, ref, ours Input, conv map[string]Conversion, convIsOurs bool) error {
	hf, gg := ref, ours
	if !convIsOurs {
		hf, gg = ours, ref
	}
	find := func(in Input, name string) (tensor.Tensor, bool) {
		i := slices.IndexFunc(in.Tensors, func(t tensor.Tensor) bool { return t.Name == name })
		if i < 0 {
			return tensor.Tensor{}, false
		}
		return in.Tensors[i], true
	}
	failing := map[string]bool{}
	for _, r := range rep.Tensors {
		if !r.Pass {
			failing[r.Name] = true
		}
	}
	for i := range rep.Tensors {
		res := &rep.Tensors[i]
		c, ok := conv[res.Name]
		if res.Pass || res.ShapeMismatch || !ok {
			continue
		}
		src, ok1 := find(hf, res.Name)
		view, ok2 := find(gg, res.Name)
		if !ok1 || !ok2 {
			continue
		}
		var hints []TensorHint
		if c.Heads > 0 {
			h, err := unpermutedHint(src, c, res.Tolerance, convIsOurs)
			if err != nil {
				return err
			}
			hints = append(hints, h...)
		}
		if c.Add != 0 {
			hints = append(hints, normOffsetHint(res, c, convIsOurs)...)
		}
		if c.Layer >= 0 && c.Pattern != "" {
			h, err := layerSwapHint(res, c, view, hf, failing, convIsOurs, find)
			if err != nil {
				return err
			}
			hints = append(hints, h...)
		}
		if len(hints) > 0 {
			// A conversion cause explains the pair: "no known cause" and
			// "noise" no longer hold.
			res.Hints = slices.DeleteFunc(res.Hints, func(h TensorHint) bool {
				return h.Kind == TensorHintUnexplained || h.Kind == TensorHintNoise
			})
		}
		res.Hints = append(hints, res.Hints...)
	}
	// A checkpoint's tensors are independent: no op lies between two of
	// them and a failure does not propagate to the next.
	rep.Sequence.LookAt, rep.Sequence.Consequences = "", ""
	return nil
}

// rowsOf is the first n rows of a 2-D tensor, a section of its data.
func rowsOf(t tensor.Tensor, n int64) tensor.Tensor {
	out := t
	out.Shape = []int64{n, t.Shape[1]}
	out.Data = io.NewSectionReader(t.Data, 0, n*t.Shape[1]*int64(t.DType.Size()))
	return out
}

func comparePair(hf, gg tensor.Tensor, tol Tolerance, convIsOurs bool) (Result, error) {
	if convIsOurs {
		return CompareWith(hf, gg, tol, Options{NoHints: true})
	}
	return CompareWith(gg, hf, tol, Options{NoHints: true})
}

// unpermutedHint tests the hypothesis that the conversion stored the
// rows in HF order, on the first convSampleHeads heads.
func unpermutedHint(src tensor.Tensor, c Conversion, tol Tolerance, convIsOurs bool) ([]TensorHint, error) {
	if len(src.Shape) != 2 || len(c.Raw.Shape) != 2 || src.Data == nil || c.Raw.Data == nil {
		return nil, nil
	}
	hd := src.Shape[0] / c.Heads
	n := min(src.Shape[0], convSampleHeads*hd)
	r, err := comparePair(rowsOf(src, n), rowsOf(c.Raw, n), tol, convIsOurs)
	if err != nil || !r.Pass {
		return nil, err
	}
	return []TensorHint{{
		Kind: TensorHintUnpermuted,
		Summary: fmt.Sprintf("looks un-permuted for NORM RoPE: the stored rows are in HF order; llama.cpp permutes Q/K rows (reshape(%d, 2, %d, cols).swapaxes(1, 2))",
			c.Heads, hd/2),
		Evidence: fmt.Sprintf("the first %d rows (%s) as stored match the source without the permutation (max|diff| %.3g); through it, they do not",
			n, plural(int(n/hd), "head", "heads"), float64(r.MaxAbsDiff)),
	}}, nil
}

// normOffsetHint names a difference of exactly ±Add everywhere.
func normOffsetHint(res *Result, c Conversion, convIsOurs bool) []TensorHint {
	mx, mean := float64(res.MaxAbsDiff), float64(res.MeanAbsDiff)
	a := math.Abs(c.Add)
	if math.Abs(mx-a) > normOffsetRelTolerance*a || math.Abs(mean-a) > normOffsetRelTolerance*a {
		return nil
	}
	d := float64(res.Ours.Mean - res.Ref.Mean) // view - source, when the converted side is ours
	if !convIsOurs {
		d = -d
	}
	what := "applied twice: the file holds w + " + strconv.FormatFloat(2*c.Add, 'g', -1, 64)
	if d*c.Add < 0 {
		what = "missing: the file holds w, llama.cpp stores w + " + strconv.FormatFloat(c.Add, 'g', -1, 64)
	}
	return []TensorHint{{
		Kind:     TensorHintNormOffset,
		Summary:  fmt.Sprintf("differs by exactly %+.1f: Gemma norm offset %s", math.Copysign(a, d), what),
		Evidence: fmt.Sprintf("every element differs by %.6g (mean |diff| %.6g, max %.6g) after the preset took off %+g", a, mean, mx, c.Add),
	}}
}

// layerSwapHint looks for the failing layer whose reference this
// tensor's data matches.
func layerSwapHint(res *Result, c Conversion, view tensor.Tensor, hf Input, failing map[string]bool, convIsOurs bool, find func(Input, string) (tensor.Tensor, bool)) ([]TensorHint, error) {
	for _, t := range hf.Tensors {
		if t.Name == res.Name || !failing[t.Name] || !slices.Equal(t.Shape, view.Shape) {
			continue
		}
		b, ok := layerOf(c.Pattern, t.Name)
		if !ok {
			continue
		}
		r, err := comparePair(t, view, res.Tolerance, convIsOurs)
		if err != nil {
			return nil, err
		}
		if r.Pass {
			return []TensorHint{{
				Kind:     TensorHintLayerSwap,
				Summary:  fmt.Sprintf("layer %d's data matches layer %d's reference: layers %d and %d swapped", c.Layer, b, c.Layer, b),
				Evidence: fmt.Sprintf("compared with %s it passes (max|diff| %.3g)", t.Name, float64(r.MaxAbsDiff)),
			}}, nil
		}
	}
	return nil, nil
}

// layerOf matches name against a pattern with one {N}.
func layerOf(pattern, name string) (int, bool) {
	pre, post, ok := strings.Cut(pattern, "{N}")
	if !ok || !strings.HasPrefix(name, pre) || !strings.HasSuffix(name, post) || len(name) <= len(pre)+len(post) {
		return 0, false
	}
	n, err := strconv.Atoi(name[len(pre) : len(name)-len(post)])
	return n, err == nil && n >= 0
}
