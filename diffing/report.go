package diffing

import (
	"errors"
	"fmt"
	"math"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/diffing/weights"
	"github.com/refcmp/refcmp/tensor"
)

// Report is the result of comparing two inputs tensor by tensor
// (CompareAll, `refcmp tensors`): plain data, and its JSON encoding is
// refcmp's stable contract for `refcmp tensors --format json`
// (documented in docs/json.md). Every list is non-nil, so it encodes as []
// when empty. Tensors come in execution order (Sequence.Order says where
// that order came from).
type Report struct {
	// Pass is true when every pair passes and no name is on one side only
	// (with Common, names on one side only do not count; with a Baseline,
	// a pair passes as its BaselinePair says).
	Pass bool `json:"pass"`
	// Common is true when only the names both sides hold were asked for
	// (--common): names on one side only are listed, not failures. Absent
	// when false.
	Common bool `json:"common,omitempty"`
	// FirstFailure is the REF name of the first failing pair in execution
	// order (every pair before it passed), or null.
	FirstFailure *string        `json:"first_failure"`
	Ref          Source         `json:"ref"`
	Ours         Source         `json:"ours"`
	Counts       Counts         `json:"counts"`
	Sequence     SequenceReport `json:"sequence"`
	// Tensors holds one Result per compared pair: name (REF),
	// ours_name, shape, dtypes, both sides' stats, the difference
	// statistics, tolerance, pass and hints.
	Tensors []Result `json:"tensors"`
	// Pairs says which tensor of each Input the entry of Tensors with the
	// same index compared (indices into ref.Tensors and ours.Tensors), so
	// a caller can read the pair again (pictures). Not in the JSON.
	Pairs    []PairIndex `json:"-"`
	RefOnly  []string    `json:"ref_only"`  // REF names with no OURS tensor
	OursOnly []string    `json:"ours_only"` // OURS names (as in OURS) with no REF tensor
	Ignored  Ignored     `json:"ignored"`
	// NameHints explain names on one side only, as 'refcmp weights'
	// does: a renamed prefix with the --map that fixes it, and so on.
	NameHints []weights.Hint `json:"name_hints"`
	Notes     []string       `json:"notes"`
	// Baseline is the comparison with an earlier report (--baseline), or
	// absent (see ApplyBaseline).
	Baseline *Baseline `json:"baseline,omitempty"`
}

// Source describes one input.
type Source struct {
	Source  string   `json:"source"`           // the path as given
	Member  string   `json:"member,omitempty"` // NAME of PATH:NAME
	Format  string   `json:"format"`           // safetensors, npy, npz, pytorch-zip, ...
	Tensors int      `json:"tensors"`          // tensors it holds
	Notes   []string `json:"notes"`
}

// Label names a source as the user wrote it: the path, or PATH:NAME.
func (s Source) Label() string {
	if s.Member != "" {
		return s.Source + ":" + s.Member
	}
	return s.Source
}

// Counts sums the report up.
type Counts struct {
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

// Ignored lists the names --ignore left out.
type Ignored struct {
	Ref  []string `json:"ref"`
	Ours []string `json:"ours"`
}

func newReport(ref, ours *Input, p *pairPlan) Report {
	src := func(s *Input) Source {
		return Source{Source: s.Path, Member: s.Member, Format: s.Format, Tensors: s.Held, Notes: append([]string{}, s.Notes...)}
	}
	return Report{
		Ref:       src(ref),
		Ours:      src(ours),
		Tensors:   make([]Result, 0, len(p.pairs)),
		RefOnly:   p.refOnly,
		OursOnly:  p.oursOnly,
		Ignored:   Ignored{Ref: p.ignoredRef, Ours: p.ignoredOurs},
		Notes:     p.notes,
		NameHints: []weights.Hint{},
		Sequence:  SequenceReport{Order: p.orderSource},
	}
}

// finish fills the counts, the verdict and the sequence analysis.
func (r *Report) finish() {
	c := &r.Counts
	c.Compared = len(r.Tensors)
	for i := range r.Tensors {
		t := &r.Tensors[i]
		if t.Pass {
			c.Passed++
		} else {
			c.Failed++
			if len(t.Hints) > 0 && t.Hints[0].Kind == TensorHintNoise {
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
	r.Pass = c.Failed == 0 && (r.Common || c.RefOnly == 0 && c.OursOnly == 0)
	if r.Common && c.RefOnly+c.OursOnly > 0 {
		r.Notes = append(r.Notes, commonNote(*c, r.RefOnly, r.OursOnly))
	}
	r.setSequence(r.Tensors)
}

// setSequence analyzes the pairs in execution order, failing where their
// Pass is false.
func (r *Report) setSequence(pairs []Result) {
	seq := AnalyzeSequenceOrder(pairs, r.Sequence.Order)
	r.Sequence = SequenceReport{Order: r.Sequence.Order, Sequence: seq, Sparkline: Sparkline(seq.Levels)}
	if seq.FirstFailure >= 0 {
		ff := seq.FirstFailure
		r.Sequence.FirstFailureStep = &ff
	}
}

// SequenceReport is the error profile along the execution order: where
// the order came from, AnalyzeSequence's analysis (steps,
// first_failure as a step index or -1, profile clean/jump/growth/nan/
// steady, step, summary, evidence, levels = log10 max|diff| per step) and
// its sparkline.
type SequenceReport struct {
	// Order is where the execution order came from: "file" (--order),
	// "metadata" (refcmp.order in safetensors __metadata__), "insertion"
	// (.npz/.pt order), "natural" (natural sort of names) or "single"
	// (one pair).
	Order string `json:"order"`
	Sequence
	// Sparkline draws Levels: ▁..█ for log10 max|diff|, · for an exact
	// match, ! where NaN/Inf was introduced, ? where nothing compares.
	Sparkline string `json:"sparkline"`
	// FirstFailureStep is Sequence.FirstFailure, nil when every step
	// passes (for the renderers; the JSON has first_failure, -1 then).
	FirstFailureStep *int `json:"-"`
}

// MaxAbsDiff is the largest finite max|diff| over results, or NaN.
func MaxAbsDiff(results []Result) float64 {
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

// PairIndex locates one compared pair in the two Inputs' Tensors.
type PairIndex struct{ Ref, Ours int }

// CompareAllOptions are the settings of CompareAll.
type CompareAllOptions struct {
	// Rules rename OURS names (--map) and leave names out on both sides
	// (--ignore) before pairing.
	Rules names.NameRules
	// Tolerance gives each pair its tolerance, by REF name and dtypes.
	Tolerance ToleranceRules
	// Order, when not nil, is the execution order (REF names, --order
	// FILE); OrderWhat names it in notes ("--order FILE").
	Order     []string
	OrderWhat string
	// Common compares the names both sides hold: names on one side only
	// are listed (and noted) but do not fail the report.
	Common bool
	// Progress, when set, is called once with the bytes CompareAll will
	// read and returns the function it calls with the bytes read so far.
	Progress func(total int64) func(done int64)
	// Pictures has each failing pair's diagnosis gather Result.Picture
	// (see Options.Pictures).
	Pictures bool
	// Logits gives every pair the logits note (NMSE by llama.cpp's bands,
	// LogitsBand), not only pairs named like logits (--logits).
	Logits bool
}

// CompareAll compares ref and ours tensor by tensor and builds the
// report: two single tensors compare directly, containers pair by name
// after opts.Rules; pairs are compared in execution order (opts.Order,
// else either side's refcmp.order, else either side's insertion order,
// else a natural sort of REF names), and the report analyses the error
// along that sequence. Names on one side only get the name hints of
// weights.NameHints. A *PairingError says the inputs cannot be paired;
// other errors name both inputs.
func CompareAll(ref, ours Input, opts CompareAllOptions) (Report, error) {
	p, err := pairTensors(&ref, &ours, opts.Rules)
	if err != nil {
		return Report{}, err
	}
	p.order(&ref, &ours, opts.Order, opts.OrderWhat)
	rep := newReport(&ref, &ours, p)
	rep.Common = opts.Common
	if !ref.Single && !ours.Single {
		rep.Notes = append(rep.Notes, unusedPatterns(&ref, &ours, opts.Rules, opts.Tolerance)...)
	}
	if len(p.refOnly) > 0 && len(p.oursOnly) > 0 {
		rep.NameHints = weights.NameHintsIn(listing(ref), listing(ours), opts.Rules, weights.TensorsWords())
	}
	var total int64
	for _, q := range p.pairs {
		total += dataBytes(ref.Tensors[q.ref]) + dataBytes(ours.Tensors[q.ours])
	}
	set := func(int64) {}
	if opts.Progress != nil {
		set = opts.Progress(total)
	}
	var done int64
	for _, q := range p.pairs {
		rt, ot := ref.Tensors[q.ref], ours.Tensors[q.ours]
		tol := opts.Tolerance.Resolve(q.name, rt.DType, ot.DType)
		qc, tol := quantPlan(rt, ot, tol)
		base := done
		res, err := CompareWith(rt, ot, tol, Options{Progress: func(n int64) { set(base + n) }, Pictures: opts.Pictures})
		if pe := (*PanicError)(nil); errors.As(err, &pe) {
			return rep, fmt.Errorf("%s vs %s: tensor %q: %w", ref.Arg, ours.Arg, q.name, err)
		}
		if err != nil {
			return rep, fmt.Errorf("%s vs %s: %w", ref.Arg, ours.Arg, err)
		}
		if qc != nil {
			finishQuant(&res, qc)
		}
		storedDTypes(&res, rt, ot)
		logitsNote(&res, opts.Logits)
		done += dataBytes(rt) + dataBytes(ot)
		set(done)
		res.Name, res.OursName = q.name, ot.Name
		if res.Picture != nil {
			res.Picture.Name = q.name
		}
		rep.Tensors = append(rep.Tensors, res)
		rep.Pairs = append(rep.Pairs, PairIndex{Ref: q.ref, Ours: q.ours})
	}
	rep.finish()
	return rep, nil
}

// listing is in's tensors as a header listing, for the name hints.
func listing(in Input) tensor.Listing {
	l := tensor.Listing{Source: in.Arg}
	for _, t := range in.Tensors {
		l.Weights = append(l.Weights, tensor.Info{Name: t.Name, DType: t.DType, Shape: t.Shape})
	}
	return l
}

// dataBytes is the size of a tensor's data (0 when its shape is not a
// count of elements).
func dataBytes(t tensor.Tensor) int64 {
	if _, ok := tensor.Numel(t.Shape); !ok && t.Shape != nil {
		return 0
	}
	return t.Numel() * int64(t.DType.Size())
}
