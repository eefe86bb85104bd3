package diffing

import (
	"fmt"

	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// QuantSlack is how far past the largest measured NMSE of its type a
// quantized tensor may go and still count as expected quantization
// error: the bands were measured on four kinds of weight-like data
// (gaussian, Student-t, row-scaled, outlier columns), and real weights
// spread a little wider.
const QuantSlack = 2.0

// TensorHintQuant names a quantized tensor whose error is more than its
// type's quantization explains.
const TensorHintQuant = "quantization"

// QuantCheck judges a block-quantized tensor (a GGUF Q4_K...) against
// its float source by what quantizing to its type is expected to cost:
// the NMSE band ggml's own quantizer gave on weight-like data
// (gguf.QuantErrorOf). The pair passes when
//
//	NMSE <= QuantSlack × Max
//
// with NMSE as every nmse check defines it (MSE / var(ref)); Ratio is
// NMSE / Median, how many times the typical error of the type it is.
type QuantCheck struct {
	Type     tensor.DType `json:"type"`     // the quantized side's block type
	Side     string       `json:"side"`     // "ours" or "ref"
	NMSE     tensor.Float `json:"nmse"`     // this pair's
	Median   tensor.Float `json:"median"`   // the type's typical NMSE
	Max      tensor.Float `json:"max"`      // the largest measured
	Limit    tensor.Float `json:"limit"`    // QuantSlack × Max: at most this passes
	Ratio    tensor.Float `json:"ratio"`    // NMSE / Median
	Expected bool         `json:"expected"` // within the limit: expected quantization error
}

// quantPlan returns the quantization check of a pair when exactly one
// side is a decoded block-quantized tensor (Tensor.Stored) with a
// measured band and the other is float data, and the tolerance that
// goes with it: an nmse check at the limit (unless the tolerance asks
// for exactness). nil when the pair is not such a pair.
func quantPlan(ref, ours tensor.Tensor, tol Tolerance) (*QuantCheck, Tolerance) {
	q, side := ours.Stored, "ours"
	other := ref
	if !q.IsBlock() {
		q, side, other = ref.Stored, "ref", ours
	}
	if !q.IsBlock() || other.Stored.IsBlock() || !other.DType.IsFloat() || tol.Exact {
		return nil, tol
	}
	gt, ok := gguf.ParseType(q.String())
	if !ok {
		return nil, tol
	}
	band, ok := gguf.QuantErrorOf(gt)
	if !ok {
		return nil, tol
	}
	qc := &QuantCheck{Type: q, Side: side, Median: tensor.Float(band.Median), Max: tensor.Float(band.Max), Limit: tensor.Float(QuantSlack * band.Max)}
	return qc, Tolerance{Check: CheckNMSE, Threshold: QuantSlack * band.Max, EqualNaN: tol.EqualNaN}
}

// finishQuant fills the check from the result and says it in a note, or
// in a hint when the error is more than quantization explains.
func finishQuant(res *Result, qc *QuantCheck) {
	qc.NMSE = res.NMSE
	if qc.Median > 0 {
		qc.Ratio = res.NMSE / qc.Median
	}
	qc.Expected = !res.ShapeMismatch && res.Introduced == 0 && float64(res.NMSE) <= float64(qc.Limit)
	res.Quant = qc
	if qc.Expected {
		res.Notes = append(res.Notes, fmt.Sprintf("%s quantization: NMSE %.3g is the error %s is expected to cost (typical %.3g, at most %.3g passes): not a failure",
			qc.Type, float64(qc.NMSE), qc.Type, float64(qc.Median), float64(qc.Limit)))
		return
	}
	if res.ShapeMismatch || res.FinitePairs == 0 {
		return
	}
	res.Hints = append([]TensorHint{{
		Kind:    TensorHintQuant,
		Summary: fmt.Sprintf("this %s tensor is %.3g× worse than %s quantization explains", qc.Type, float64(qc.Ratio), qc.Type),
		Evidence: fmt.Sprintf("NMSE %.3g against %s's typical %.3g (measured with ggml's quantizer on weight-like data; up to %.3g passes)",
			float64(qc.NMSE), qc.Type, float64(qc.Median), float64(qc.Limit)),
	}}, res.Hints...)
}

// storedDTypes reports a decoded side by the type it was stored as
// (Q4_K rather than the F32 its values were decoded to).
func storedDTypes(res *Result, ref, ours tensor.Tensor) {
	if ref.Stored != tensor.Unknown {
		res.RefDType = ref.Stored
	}
	if ours.Stored != tensor.Unknown {
		res.OursDType = ours.Stored
	}
}
