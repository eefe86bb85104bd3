package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/refcmp/refcmp/diffing"
)

// Sequence analysis: where along a forward pass do the errors start, and
// how do they grow? The steps are the compared pairs in execution order.

// Profile names (sequenceReport.Profile).
const (
	profileClean     = "clean"
	profileJump      = "jump"
	profileGradual   = "gradual"
	profileNaN       = "nan"
	profileShape     = "shape"
	profileScattered = "scattered"
)

// jumpDecades is the rise of log10 max|diff| over every earlier step that
// counts as a sudden jump.
const jumpDecades = 1.0

// analyzeSequence classifies the error profile of results (in execution
// order).
func analyzeSequence(results []diffing.Result, order string) sequenceReport {
	s := sequenceReport{Order: order, Steps: len(results), MaxAbsDiff: make([]diffing.Float, len(results))}
	logs := make([]float64, len(results))
	first := -1
	for i := range results {
		r := &results[i]
		s.MaxAbsDiff[i] = r.MaxAbsDiff
		logs[i] = logDiff(r)
		if !r.Pass && first < 0 {
			first = i
		}
	}
	s.Sparkline = sparkline(results, logs)
	if first < 0 {
		s.Profile = profileClean
		s.Summary = "clean: every step passes"
		if m := maxFinite(s.MaxAbsDiff); !math.IsNaN(m) {
			s.Summary += fmt.Sprintf("; max|diff| <= %s", fmtNum(m))
		}
		return s
	}
	s.FirstFailureStep = ptr(first)
	f := &results[first]
	at := func(i int) string { return fmt.Sprintf("step %d (%s)", i, results[i].Name) }
	set := func(profile string, step int, summary string) sequenceReport {
		s.Profile, s.Step, s.Summary = profile, ptr(step), summary
		return s
	}

	switch {
	case f.Introduced > 0:
		return set(profileNaN, first, fmt.Sprintf("NaN/Inf from %s: %d introduced where REF is finite", at(first), f.Introduced))
	case f.ShapeMismatch:
		return set(profileShape, first, fmt.Sprintf("shape mismatch at %s: %s vs %s", at(first), diffing.FormatShape(f.Shape), diffing.FormatShape(f.OursShape)))
	}
	nanFrom := ""
	for i := first + 1; i < len(results); i++ {
		if results[i].Introduced > 0 {
			nanFrom = fmt.Sprintf("; NaN/Inf from %s", at(i))
			break
		}
	}

	// The level before the first failure: the largest earlier max|diff|.
	prior := math.Inf(-1)
	for i := 0; i < first; i++ {
		if !math.IsNaN(logs[i]) {
			prior = max(prior, logs[i])
		}
	}
	lf := logs[first]
	if first == 0 && !math.IsNaN(lf) {
		return set(profileJump, 0, fmt.Sprintf("fails from the first %s: max|diff| %s%s", at(0), fmtNum(float64(f.MaxAbsDiff)), nanFrom))
	}
	if !math.IsNaN(lf) && lf-prior >= jumpDecades {
		sum := fmt.Sprintf("jump at %s: max|diff| %s -> %s", at(first), fmtNum(math.Pow(10, max(prior, -30))), fmtNum(float64(f.MaxAbsDiff)))
		if prior > -30 {
			sum = fmt.Sprintf("jump at %s: max|diff| %s -> %s (%.1f decades)", at(first), fmtNum(math.Pow(10, prior)), fmtNum(float64(f.MaxAbsDiff)), lf-prior)
		} else {
			sum = fmt.Sprintf("jump at %s: max|diff| 0 -> %s (every earlier step exact)", at(first), fmtNum(float64(f.MaxAbsDiff)))
		}
		return set(profileJump, first, sum+nanFrom)
	}
	if start, ok := gradual(logs, first); ok {
		return set(profileGradual, start, fmt.Sprintf("gradual: max|diff| grows from %s at step %d to %s at %s, where it first fails%s",
			fmtNum(math.Pow(10, logs[start])), start, fmtNum(float64(f.MaxAbsDiff)), at(first), nanFrom))
	}
	failed := 0
	for i := range results {
		if !results[i].Pass {
			failed++
		}
	}
	return set(profileScattered, first, fmt.Sprintf("scattered: %d of %d steps fail, the first at %s, with neither a jump nor steady growth%s",
		failed, len(results), at(first), nanFrom))
}

// gradual reports whether the errors up to the first failure grow
// steadily: at least three non-zero steps, mostly rising, by at least a
// decade in all. start is the step the growth starts from.
func gradual(logs []float64, first int) (start int, ok bool) {
	var idx []int
	for i := 0; i <= first; i++ {
		if !math.IsNaN(logs[i]) && logs[i] > -30 {
			idx = append(idx, i)
		}
	}
	if len(idx) < 3 {
		return 0, false
	}
	// Start at the lowest point before the first failure.
	lo := 0
	for k := range idx {
		if logs[idx[k]] < logs[idx[lo]] {
			lo = k
		}
	}
	idx = idx[lo:]
	if len(idx) < 3 || logs[idx[len(idx)-1]]-logs[idx[0]] < 1 {
		return 0, false
	}
	rises := 0
	for k := 1; k < len(idx); k++ {
		if logs[idx[k]] >= logs[idx[k-1]] {
			rises++
		}
	}
	return idx[0], rises*3 >= (len(idx)-1)*2 // two thirds of the steps rise
}

// sparkline draws log10 max|diff| per step.
func sparkline(results []diffing.Result, logs []float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	levels := []rune(bars)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range logs {
		if !math.IsNaN(l) && l > -30 {
			lo, hi = min(lo, l), max(hi, l)
		}
	}
	for _, l := range logs {
		if l <= -30 {
			lo-- // exact steps sit a decade below the smallest difference
			break
		}
	}
	if hi-lo < 3 {
		hi = lo + 3 // small wiggles stay small
	}
	var b strings.Builder
	for i, l := range logs {
		switch {
		case results[i].Introduced > 0:
			b.WriteRune('×')
		case math.IsNaN(l):
			b.WriteRune('·')
		case l <= -30:
			b.WriteRune(levels[0])
		default:
			k := int(math.Round((l - lo) / (hi - lo) * float64(len(levels)-1)))
			b.WriteRune(levels[max(0, min(len(levels)-1, k))])
		}
	}
	return b.String()
}

// maxFinite is the largest non-NaN value, or NaN.
func maxFinite(vs []diffing.Float) float64 {
	m := math.NaN()
	for _, v := range vs {
		f := float64(v)
		if math.IsNaN(f) {
			continue
		}
		if math.IsNaN(m) || f > m {
			m = f
		}
	}
	return m
}
