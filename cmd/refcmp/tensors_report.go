package main

import (
	"math"

	"github.com/refcmp/refcmp/diffing"
)

// tensorsReport is the result of `refcmp tensors`: plain data, and with
// --format json refcmp's stable contract (documented in README.md). Every
// list is non-nil, so it encodes as [] when empty. Tensors come in
// execution order (Sequence.Order says where that order came from).
type tensorsReport struct {
	// Pass is true when every pair passes and no name is on one side only.
	Pass bool `json:"pass"`
	// FirstFailure is the REF name of the first failing pair in execution
	// order (every pair before it passed), or null.
	FirstFailure *string        `json:"first_failure"`
	Ref          tensorsSource  `json:"ref"`
	Ours         tensorsSource  `json:"ours"`
	Counts       tensorsCounts  `json:"counts"`
	Sequence     sequenceReport `json:"sequence"`
	// Tensors holds one diffing.Result per compared pair: name (REF),
	// ours_name, shape, dtypes, both sides' stats, the difference
	// statistics, tolerance, pass and hints.
	Tensors  []diffing.Result `json:"tensors"`
	RefOnly  []string         `json:"ref_only"`  // REF names with no OURS tensor
	OursOnly []string         `json:"ours_only"` // OURS names (as in OURS) with no REF tensor
	Ignored  tensorsIgnored   `json:"ignored"`
	// NameHints explain names on one side only, as 'refcmp weights'
	// does: a renamed prefix with the --map that fixes it, and so on.
	NameHints []diffing.Hint `json:"name_hints"`
	Notes     []string       `json:"notes"`
}

// tensorsSource describes one input.
type tensorsSource struct {
	Source  string   `json:"source"`           // the path as given
	Member  string   `json:"member,omitempty"` // NAME of PATH:NAME
	Format  string   `json:"format"`           // safetensors, npy, npz, pytorch-zip, ...
	Tensors int      `json:"tensors"`          // tensors it holds
	Notes   []string `json:"notes"`
}

// tensorsCounts sums the report up.
type tensorsCounts struct {
	Compared      int `json:"compared"`
	Passed        int `json:"passed"`
	Failed        int `json:"failed"`         // including shape mismatches
	ShapeMismatch int `json:"shape_mismatch"` // pairs of different shapes
	Introduced    int `json:"introduced"`     // pairs where OURS has NaN/Inf where REF is finite
	Noise         int `json:"noise"`          // failing pairs at float rounding-noise level (hint "noise")
	RefOnly       int `json:"ref_only"`
	OursOnly      int `json:"ours_only"`
	Ignored       int `json:"ignored"` // names left out by --ignore, both sides
}

// tensorsIgnored lists the names --ignore left out.
type tensorsIgnored struct {
	Ref  []string `json:"ref"`
	Ours []string `json:"ours"`
}

func newTensorsReport(ref, ours *tensorSide, p *pairPlan) tensorsReport {
	src := func(s *tensorSide) tensorsSource {
		return tensorsSource{Source: s.path, Member: s.member, Format: s.c.Format, Tensors: len(s.c.Tensors), Notes: append([]string{}, s.c.Notes...)}
	}
	return tensorsReport{
		Ref:       src(ref),
		Ours:      src(ours),
		Tensors:   make([]diffing.Result, 0, len(p.pairs)),
		RefOnly:   p.refOnly,
		OursOnly:  p.oursOnly,
		Ignored:   tensorsIgnored{Ref: p.ignoredRef, Ours: p.ignoredOurs},
		Notes:     p.notes,
		NameHints: []diffing.Hint{},
		Sequence:  sequenceReport{Order: p.orderSource},
	}
}

// finish fills the counts, the verdict and the sequence analysis.
func (r *tensorsReport) finish() {
	c := &r.Counts
	c.Compared = len(r.Tensors)
	for i := range r.Tensors {
		t := &r.Tensors[i]
		if t.Pass {
			c.Passed++
		} else {
			c.Failed++
			if len(t.Hints) > 0 && t.Hints[0].Kind == diffing.TensorHintNoise {
				c.Noise++
			}
			if r.FirstFailure == nil {
				name := t.Name
				r.FirstFailure = &name
			}
		}
		if t.ShapeMismatch {
			c.ShapeMismatch++
		}
		if t.Introduced > 0 {
			c.Introduced++
		}
	}
	c.RefOnly, c.OursOnly = len(r.RefOnly), len(r.OursOnly)
	c.Ignored = len(r.Ignored.Ref) + len(r.Ignored.Ours)
	r.Pass = c.Failed == 0 && c.RefOnly == 0 && c.OursOnly == 0
	seq := diffing.AnalyzeSequence(nil, r.Tensors)
	r.Sequence = sequenceReport{Order: r.Sequence.Order, Sequence: seq, Sparkline: diffing.Sparkline(seq.Levels)}
	if seq.FirstFailure >= 0 {
		r.Sequence.FirstFailureStep = ptr(seq.FirstFailure)
	}
}

// sequenceReport is the error profile along the execution order: where
// the order came from, diffing.AnalyzeSequence's analysis (steps,
// first_failure as a step index or -1, profile clean/jump/growth/nan/
// steady, step, summary, evidence, levels = log10 max|diff| per step) and
// its sparkline.
type sequenceReport struct {
	// Order is where the execution order came from: "file" (--order),
	// "metadata" (refcmp.order in safetensors __metadata__), "insertion"
	// (.npz/.pt order), "natural" (natural sort of names) or "single"
	// (one pair).
	Order string `json:"order"`
	diffing.Sequence
	// Sparkline draws Levels: ▁..█ for log10 max|diff|, · for an exact
	// match, ! where NaN/Inf was introduced, ? where nothing compares.
	Sparkline string `json:"sparkline"`
	// FirstFailureStep is Sequence.FirstFailure, nil when every step
	// passes (for the renderers; the JSON has first_failure, -1 then).
	FirstFailureStep *int `json:"-"`
}

// maxAbsDiff is the largest finite max|diff| over results, or NaN.
func maxAbsDiff(results []diffing.Result) float64 {
	m := math.NaN()
	for _, r := range results {
		v := float64(r.MaxAbsDiff)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if math.IsNaN(m) || v > m {
			m = v
		}
	}
	return m
}
