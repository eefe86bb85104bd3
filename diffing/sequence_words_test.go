package diffing

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// TestWordsAtTheEdges renders numbers near the edges — levels at 10^k
// exactly, negative decades, values that round to 1, no steps before the
// first failure — and forbids the slips they once made: "1e-0.0",
// "rise -7.2 decades", "all 0 steps", a cosine "1.000000", "(ref 1)".
func TestWordsAtTheEdges(t *testing.T) {
	bad := regexp.MustCompile(`1e-?\d+\.\d|rise -|all [01] steps|1\.000000\b|\(ref 1\)`)
	check := func(what, s string) {
		t.Helper()
		if m := bad.FindString(s); m != "" {
			t.Errorf("%s: %q holds %q", what, s, m)
		}
	}
	for _, lv := range []float64{0, -0.0, 1, -1, 2, -7, -7.2, 0.3, -0.04, 308, -320} {
		check("levelText", levelText(lv))
	}
	if got := levelText(-7); got != "max|diff| 1e-07" {
		t.Errorf("levelText(-7) = %q", got)
	}
	for _, r := range []float64{-7.2, -1, -0.04, 0, 0.04, 1, 2.5} {
		check("riseText", riseText(r))
	}
	for r, want := range map[float64]string{-7.2: "fall 7.2 decades", 0.2: "rise 0.2 decades", -0.04: "no change", 1: "rise 1.0 decade"} {
		if got := riseText(r); got != want {
			t.Errorf("riseText(%v) = %q, want %q", r, got, want)
		}
	}
	for _, f := range []int{0, 1, 2} {
		check("passedBefore", passedBefore(f))
	}
	for _, c := range []float64{1, 0.9999996, 0.99999999999, 1.0000000002, 0.5, -1, -0.99999999, 0} {
		s := FormatCosine(c)
		check("FormatCosine", s)
		if c != 1 && (s == "1" || s == "-1" && c != -1) {
			t.Errorf("FormatCosine(%v) = %q: looks exact", c, s)
		}
	}

	// Whole sequences: a failure at step 0 at 10^0 exactly, a jump to
	// 10^-0 (a level of -0.0), a fall, NaN introduced where ref is
	// 0.9999988.
	res := func(maxd float64, pass bool) Result {
		return Result{MaxAbsDiff: tensor.Float(maxd), Pass: pass, FinitePairs: 1, Numel: 1}
	}
	for name, rs := range map[string][]Result{
		"first step":   {res(1, false), res(1, false)},
		"jump to 1":    {res(1e-7, true), res(1e-7, true), res(1, false)},
		"falls":        {res(1, false), res(1e-3, false), res(1e-8, false)},
		"one before":   {res(0, true), res(1e-3, false)},
		"clean at 1e0": {res(1, true), res(0.5, true)},
	} {
		s := AnalyzeSequence(rs)
		check(name, s.Summary+" | "+s.Evidence)
	}
	nan := []Result{res(0, true), {MaxAbsDiff: tensor.Float(math.NaN()), Introduced: 1, FirstIntroduced: &Element{Index: []int64{0}, Ref: 0.9999988, Ours: tensor.Float(math.NaN())}}}
	s := AnalyzeSequence(nan)
	check("nan", s.Evidence)
	if !strings.Contains(s.Evidence, "(ref 0.9999988)") {
		t.Errorf("NaN evidence %q does not give the ref value to 7 digits", s.Evidence)
	}
}

func TestFormatCosineNoise(t *testing.T) {
	for v, want := range map[float64]string{1: "1", 1 - 1e-15: "1", 1 + 1e-15: "1", 0.9999996: "0.9999996", 0.999999: "0.999999", 0.5: "0.500000"} {
		if got := FormatCosine(v); got != want {
			t.Errorf("FormatCosine(%v) = %q, want %q", v, got, want)
		}
	}
}
