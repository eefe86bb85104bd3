package diffing

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/tensor"
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
			what = fmt.Sprintf("matches within tolerance (max|diff| %s)", FormatStat(m))
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
		return fmt.Sprintf("shape %s vs %s", tensor.FormatShape(r.Shape), tensor.FormatShape(r.OursShape))
	case r.Introduced > 0:
		return fmt.Sprintf("%d NaN/Inf introduced (first at %s)", r.Introduced, elemIndex(r.FirstIntroduced))
	case !t.Exact && t.Check == CheckCosine:
		return fmt.Sprintf("cosine %s < %s", FormatCosine(float64(r.Cosine)), FormatStat(t.Threshold))
	case !t.Exact && t.Check == CheckNMSE:
		return fmt.Sprintf("nmse %s > %s", FormatStat(float64(r.NMSE)), FormatStat(t.Threshold))
	}
	what := "beyond tolerance"
	if t.Exact {
		what = "differ bitwise"
	}
	return fmt.Sprintf("%d of %d elements %s (%s), max|diff| %s", r.Mismatched, r.Numel, what,
		FormatPercent(float64(r.MismatchFraction)), FormatStat(float64(r.MaxAbsDiff)))
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
		on, _ := tensor.Numel(r.OursShape)
		return append(out, fmt.Sprintf("shapes differ: ref %s, ours %s (%d vs %d elements); no element-wise comparison",
			tensor.FormatShape(r.Shape), tensor.FormatShape(r.OursShape), r.Numel, on))
	}
	what := "beyond tolerance"
	if r.Tolerance.Exact {
		what = "differ bitwise"
	}
	out = append(out, fmt.Sprintf("mismatched: %d of %d elements %s (%s)", r.Mismatched, r.Numel, what, FormatPercent(float64(r.MismatchFraction))))
	if w := r.Worst; w != nil {
		out = append(out, fmt.Sprintf("worst: |diff| %s at %s: ref %s, ours %s", FormatStat(float64(r.MaxAbsDiff)), elemIndex(w), FormatValue(float64(w.Ref)), FormatValue(float64(w.Ours))))
	}
	if f := r.FirstMismatch; f != nil {
		out = append(out, fmt.Sprintf("first mismatch at %s: ref %s, ours %s", elemIndex(f), FormatValue(float64(f.Ref)), FormatValue(float64(f.Ours))))
	}
	if f := r.FirstIntroduced; r.Introduced > 0 && f != nil {
		out = append(out, fmt.Sprintf("introduced: %d NaN/Inf in ours where ref is finite, first at %s: ref %s, ours %s",
			r.Introduced, elemIndex(f), FormatValue(float64(f.Ref)), FormatValue(float64(f.Ours))))
	}
	out = append(out, fmt.Sprintf("max|diff| %s, mean|diff| %s, max rel diff %s, rmse %s, nmse %s, cosine %s",
		FormatStat(float64(r.MaxAbsDiff)), FormatStat(float64(r.MeanAbsDiff)), FormatStat(float64(r.MaxRelDiff)),
		FormatStat(float64(r.RMSE)), FormatStat(float64(r.NMSE)), FormatCosine(float64(r.Cosine))))
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
		return fmt.Sprintf("max-abs: |ours - ref| <= %s", FormatStat(t.Atol)) + nan
	case t.Check == CheckCosine:
		return fmt.Sprintf("cosine >= %s", FormatStat(t.Threshold)) + nan
	case t.Check == CheckNMSE:
		return fmt.Sprintf("nmse <= %s", FormatStat(t.Threshold)) + nan
	}
	return fmt.Sprintf("allclose: |ours - ref| <= atol + rtol * |ref|, atol %s, rtol %s", FormatStat(t.Atol), FormatStat(t.Rtol)) + nan
}

// Text writes one side's statistics:
// "min -1.5, max 2.25, mean 0.1234, std 0.5, NaN 0, Inf 0".
func (s SideStats) Text() string {
	return fmt.Sprintf("min %s, max %s, mean %s, std %s, NaN %d, Inf %d",
		FormatStat(float64(s.Min)), FormatStat(float64(s.Max)), FormatStat(float64(s.Mean)), FormatStat(float64(s.Std)), s.NaN, s.Inf)
}

func (r Result) shapeText() string {
	if r.ShapeMismatch {
		return tensor.FormatShape(r.Shape) + " vs " + tensor.FormatShape(r.OursShape)
	}
	return tensor.FormatShape(r.Shape)
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
	return tensor.FormatShape(e.Index)
}

// FormatStat writes a statistic as refcmp prints it: 4 significant
// digits, and NaN, +Inf, -Inf, 0 spelled out.
func FormatStat(v float64) string {
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

// FormatValue writes an element's value with 7 significant digits,
// enough to tell close float32 values apart.
func FormatValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || v == 0 {
		return FormatStat(v)
	}
	return strconv.FormatFloat(v, 'g', 7, 64)
}

// FormatCosine writes a cosine similarity: 1 when within 1e-12 of 1
// (the float64 rounding of its sums: proportional tensors), else six
// decimals, or as many more as it takes not to look like 1 (0.9999996,
// never 1.000000).
func FormatCosine(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.Abs(v-1) <= 1e-12:
		return "1"
	}
	for p := 6; p < 17; p++ {
		s := strconv.FormatFloat(v, 'f', p, 64)
		if strings.TrimRight(strings.TrimPrefix(s, "-"), "0") != "1." {
			return s // not a 1 that is not one
		}
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// FormatPercent writes a fraction as a percentage: 0, 0.0977%, 37.5%, 100%.
func FormatPercent(f float64) string {
	switch {
	case math.IsNaN(f):
		return "-"
	case f == 0:
		return "0"
	}
	return strconv.FormatFloat(f*100, 'g', 3, 64) + "%"
}
