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
	Notes    []string         `json:"notes"`
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
		Ref:      src(ref),
		Ours:     src(ours),
		Tensors:  make([]diffing.Result, 0, len(p.pairs)),
		RefOnly:  p.refOnly,
		OursOnly: p.oursOnly,
		Ignored:  tensorsIgnored{Ref: p.ignoredRef, Ours: p.ignoredOurs},
		Notes:    p.notes,
		Sequence: sequenceReport{Order: p.orderSource},
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
	r.Sequence = analyzeSequence(r.Tensors, r.Sequence.Order)
}

// sequenceReport is the error profile along the execution order.
type sequenceReport struct {
	// Order is where the execution order came from: "file" (--order),
	// "metadata" (refcmp.order in safetensors __metadata__), "insertion"
	// (.npz/.pt order), "natural" (natural sort of names) or "single"
	// (one pair).
	Order string `json:"order"`
	Steps int    `json:"steps"`
	// Profile classifies the errors: "clean" (every step passes), "jump"
	// (a sudden rise at Step), "gradual" (errors grow step after step),
	// "nan" (NaN or Inf from Step on), "shape" (the first failure is a
	// shape mismatch) or "scattered" (failures without a pattern).
	Profile string `json:"profile"`
	// Step is where the profile starts (0-based), null when clean.
	Step *int `json:"step"`
	// FirstFailureStep is the 0-based step of first_failure, or null.
	FirstFailureStep *int `json:"first_failure_step"`
	// MaxAbsDiff is max|ours - ref| per step ("NaN" for a shape mismatch
	// or a step with no finite pair).
	MaxAbsDiff []diffing.Float `json:"max_abs_diff"`
	// Sparkline draws log10 max|diff| per step with ▁▂▃▄▅▆▇█; × marks a
	// step with NaN/Inf introduced, · a step with no difference to draw.
	Sparkline string `json:"sparkline"`
	// Summary says it in one line.
	Summary string `json:"summary"`
}

// logDiff is log10 of a step's max|diff|, or NaN when there is none;
// exact matches sit at -30.
func logDiff(r *diffing.Result) float64 {
	v := float64(r.MaxAbsDiff)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return math.NaN()
	case v == 0:
		return -30
	}
	return math.Log10(v)
}
