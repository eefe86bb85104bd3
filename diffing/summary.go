package diffing

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Summary is the diagnosis of one compared pair as plain text, the way
// `refcmp tensors` words it: a verdict line, then (for a failing pair)
// the tolerance, both sides' statistics, the worst element, the first
// mismatch, the difference statistics and the hints, one per line. For
// a port's own tests:
//
//	if !res.Pass {
//		t.Fatal(res.Summary())
//	}
//
// The text is for people and may change between versions; programs read
// the Result's fields.
func (r Result) Summary() string {
	var b strings.Builder
	b.WriteString(r.Verdict())
	if r.Pass {
		return b.String()
	}
	for _, f := range r.Facts() {
		b.WriteString("\n" + f)
	}
	for _, h := range r.Hints {
		b.WriteString("\nhint: " + h.Kind + ": " + h.Summary)
		if h.Evidence != "" {
			b.WriteString("\n  evidence: " + h.Evidence)
		}
	}
	for _, n := range r.Notes {
		b.WriteString("\nnote: " + n)
	}
	return b.String()
}

// Verdict is the first line of Summary, e.g.
//
//	PASS logits [1 8 64] F32: matches within tolerance (max|diff| 2.384e-07)
//	FAIL layers.0.self_attn.scores [1 4 8 8] F32: 224 of 256 elements beyond tolerance (87.5%), max|diff| 1.932
func (r Result) Verdict() string {
	head := fmt.Sprintf("%s %s", r.Name, r.shapeText())
	if dt := r.dtypeText(" vs "); dt != "" {
		head += " " + dt
	}
	if r.Pass {
		what := "matches exactly"
		if m := float64(r.MaxAbsDiff); !math.IsNaN(m) && m > 0 {
			what = fmt.Sprintf("matches within tolerance (max|diff| %s)", fmtStat(m))
		} else if r.Numel == 0 {
			what = "matches (no elements)"
		}
		return "PASS " + head + ": " + what
	}
	return "FAIL " + head + ": " + r.FailReason()
}

// FailReason says in a few words why a pair fails ("" when it passes):
// the shapes, the NaN/Inf it introduced, the aggregate check it missed,
// or how many elements are out of tolerance.
func (r Result) FailReason() string {
	t := r.Tolerance
	switch {
	case r.Pass:
		return ""
	case r.ShapeMismatch:
		return fmt.Sprintf("shape %s vs %s", FormatShape(r.Shape), FormatShape(r.OursShape))
	case r.Introduced > 0:
		return fmt.Sprintf("%d NaN/Inf introduced (first at %s)", r.Introduced, elemIndex(r.FirstIntroduced))
	case !t.Exact && t.Check == CheckCosine:
		return fmt.Sprintf("cosine %s < %s", fmtCosine(float64(r.Cosine)), fmtStat(t.Threshold))
	case !t.Exact && t.Check == CheckNMSE:
		return fmt.Sprintf("nmse %s > %s", fmtStat(float64(r.NMSE)), fmtStat(t.Threshold))
	}
	what := "beyond tolerance"
	if t.Exact {
		what = "differ bitwise"
	}
	return fmt.Sprintf("%d of %d elements %s (%s), max|diff| %s", r.Mismatched, r.Numel, what,
		fmtPercent(float64(r.MismatchFraction)), fmtStat(float64(r.MaxAbsDiff)))
}

// Facts are the lines of Summary between the verdict and the hints.
func (r Result) Facts() []string {
	var out []string
	if r.OursName != "" && r.OursName != r.Name {
		out = append(out, "ours name: "+r.OursName)
	}
	out = append(out,
		"tolerance: "+r.Tolerance.Text(),
		"ref:  "+r.Ref.Text(),
		"ours: "+r.Ours.Text(),
	)
	if r.ShapeMismatch {
		return append(out, fmt.Sprintf("shapes differ: ref %s, ours %s (%d vs %d elements); no element-wise comparison",
			FormatShape(r.Shape), FormatShape(r.OursShape), r.Numel, numelOf(r.OursShape)))
	}
	what := "beyond tolerance"
	if r.Tolerance.Exact {
		what = "differ bitwise"
	}
	out = append(out, fmt.Sprintf("mismatched: %d of %d elements %s (%s)", r.Mismatched, r.Numel, what, fmtPercent(float64(r.MismatchFraction))))
	if w := r.Worst; w != nil {
		out = append(out, fmt.Sprintf("worst: |diff| %s at %s: ref %s, ours %s", fmtStat(float64(r.MaxAbsDiff)), elemIndex(w), fmtValue(float64(w.Ref)), fmtValue(float64(w.Ours))))
	}
	if f := r.FirstMismatch; f != nil {
		out = append(out, fmt.Sprintf("first mismatch at %s: ref %s, ours %s", elemIndex(f), fmtValue(float64(f.Ref)), fmtValue(float64(f.Ours))))
	}
	if f := r.FirstIntroduced; r.Introduced > 0 && f != nil {
		out = append(out, fmt.Sprintf("introduced: %d NaN/Inf in ours where ref is finite, first at %s: ref %s, ours %s",
			r.Introduced, elemIndex(f), fmtValue(float64(f.Ref)), fmtValue(float64(f.Ours))))
	}
	out = append(out, fmt.Sprintf("max|diff| %s, mean|diff| %s, max rel diff %s, rmse %s, nmse %s, cosine %s",
		fmtStat(float64(r.MaxAbsDiff)), fmtStat(float64(r.MeanAbsDiff)), fmtStat(float64(r.MaxRelDiff)),
		fmtStat(float64(r.RMSE)), fmtStat(float64(r.NMSE)), fmtCosine(float64(r.Cosine))))
	return out
}

// Text writes the rule a pair was held to, e.g.
// "allclose: |ours - ref| <= atol + rtol * |ref|, atol 1e-05, rtol 1.3e-06".
func (t Tolerance) Text() string {
	nan := ""
	if t.EqualNaN {
		nan = "; NaN equals NaN"
	}
	switch {
	case t.Exact:
		return "exact (bitwise equal)" + nan
	case t.Check == CheckMaxAbs:
		return fmt.Sprintf("max-abs: |ours - ref| <= %s", fmtStat(t.Atol)) + nan
	case t.Check == CheckCosine:
		return fmt.Sprintf("cosine >= %s", fmtStat(t.Threshold)) + nan
	case t.Check == CheckNMSE:
		return fmt.Sprintf("nmse <= %s", fmtStat(t.Threshold)) + nan
	}
	return fmt.Sprintf("allclose: |ours - ref| <= atol + rtol * |ref|, atol %s, rtol %s", fmtStat(t.Atol), fmtStat(t.Rtol)) + nan
}

// Text writes one side's statistics:
// "min -1.5, max 2.25, mean 0.1234, std 0.5, NaN 0, Inf 0".
func (s SideStats) Text() string {
	return fmt.Sprintf("min %s, max %s, mean %s, std %s, NaN %d, Inf %d",
		fmtStat(float64(s.Min)), fmtStat(float64(s.Max)), fmtStat(float64(s.Mean)), fmtStat(float64(s.Std)), s.NaN, s.Inf)
}

func (r Result) shapeText() string {
	if r.ShapeMismatch {
		return FormatShape(r.Shape) + " vs " + FormatShape(r.OursShape)
	}
	return FormatShape(r.Shape)
}

func (r Result) dtypeText(sep string) string {
	dt := r.RefDType.String()
	if r.OursDType != r.RefDType {
		dt += sep + r.OursDType.String()
	}
	return dt
}

func elemIndex(e *Element) string {
	if e == nil {
		return "-"
	}
	return FormatShape(e.Index)
}

// fmtStat writes a statistic with 4 significant digits.
func fmtStat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == 0:
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// fmtValue writes an element's value with 7 significant digits, enough
// to tell close float32 values apart.
func fmtValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || v == 0 {
		return fmtStat(v)
	}
	return strconv.FormatFloat(v, 'g', 7, 64)
}

// fmtCosine writes a cosine similarity: 1, or six decimals.
func fmtCosine(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case v == 1:
		return "1"
	}
	return strconv.FormatFloat(v, 'f', 6, 64)
}

// fmtPercent writes a fraction as a percentage: 0, 0.0977%, 37.5%, 100%.
func fmtPercent(f float64) string {
	switch {
	case math.IsNaN(f):
		return "-"
	case f == 0:
		return "0"
	}
	return strconv.FormatFloat(f*100, 'g', 3, 64) + "%"
}
