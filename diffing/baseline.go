package diffing

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/refcmp/refcmp/tensor"
)

// DefaultWorseBy is the factor by which a pair's error may grow over its
// baseline before it fails (--worse-by): max|diff|, NMSE and the
// mismatch count each. 1.5 lets run-to-run noise through and catches a
// doubled error.
const DefaultWorseBy = 1.5

// ErrorFigures are what a baseline keeps of a pair's error.
type ErrorFigures struct {
	MaxAbsDiff    tensor.Float `json:"max_abs_diff"`
	NMSE          tensor.Float `json:"nmse"`
	Mismatched    int64        `json:"mismatched"`
	Introduced    int64        `json:"introduced"` // NaN/Inf in OURS where REF is finite
	ShapeMismatch bool         `json:"shape_mismatch,omitempty"`
	Pass          bool         `json:"pass"` // within its tolerance
}

// FiguresOf keeps the error figures of a compared pair.
func FiguresOf(r Result) ErrorFigures {
	return ErrorFigures{MaxAbsDiff: r.MaxAbsDiff, NMSE: r.NMSE, Mismatched: r.Mismatched,
		Introduced: r.Introduced, ShapeMismatch: r.ShapeMismatch, Pass: r.Pass}
}

// Trends of a pair against its baseline (BaselinePair.Trend).
const (
	TrendNew    = "new"    // no baseline for it
	TrendBetter = "better" // now within tolerance, or a figure shrank by the factor and none grew
	TrendSame   = "same"
	TrendWorse  = "worse" // a figure grew by more than the factor, or it passed before and fails now
)

// BaselinePair is one pair judged against its baseline.
type BaselinePair struct {
	Name     string        `json:"name"`     // the REF name
	Baseline *ErrorFigures `json:"baseline"` // null when the baseline has no such pair
	Now      ErrorFigures  `json:"now"`
	Trend    string        `json:"trend"` // new, better, same, worse
	// Grew lists the figures beyond the factor: max_abs_diff, nmse,
	// mismatched, introduced, shape; "pass" when it passed before and
	// fails now.
	Grew []string `json:"grew"`
	// Pass: within tolerance now, or outside it before and now with no
	// figure grown beyond the factor.
	Pass bool `json:"pass"`
}

// Accepted reports a pair outside its tolerance that the baseline lets
// pass.
func (p BaselinePair) Accepted() bool { return p.Pass && !p.Now.Pass }

// BaselineCounts sums a baseline comparison up.
type BaselineCounts struct {
	Better    int `json:"better"`
	Same      int `json:"same"`
	Worse     int `json:"worse"`
	New       int `json:"new"`
	Accepted  int `json:"accepted"`  // outside tolerance, no worse than the baseline
	Regressed int `json:"regressed"` // failing: new, passed before, or grown beyond the factor
	Gone      int `json:"gone"`      // in the baseline, not compared now
}

// Baseline is a report's comparison with an earlier one (--baseline).
type Baseline struct {
	Source  string         `json:"source"`   // the baseline file as given
	WorseBy float64        `json:"worse_by"` // the factor
	Counts  BaselineCounts `json:"counts"`
	Pairs   []BaselinePair `json:"pairs"` // one per Report.Tensors entry, in the same order
	Gone    []string       `json:"gone"`  // baseline pairs not compared now (REF names)
}

// BaselineFile is an earlier report read for its error figures.
type BaselineFile struct {
	Names   []string                // REF names in its order
	Figures map[string]ErrorFigures // by REF name
}

// ParseBaseline reads an earlier `refcmp tensors --format json` report
// (a Report's JSON) for the error figures of its pairs.
func ParseBaseline(data []byte) (BaselineFile, error) {
	var rep struct {
		Tensors *[]struct {
			Name string `json:"name"`
			ErrorFigures
		} `json:"tensors"`
		Counts  *json.RawMessage `json:"counts"`
		Version *int             `json:"version"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return BaselineFile{}, fmt.Errorf("not a refcmp tensors --format json report: %w", err)
	}
	switch {
	case rep.Version != nil:
		return BaselineFile{}, errors.New("this is a golden file, not a refcmp tensors --format json report (golden check takes --ref REF to track the error)")
	case rep.Tensors == nil || rep.Counts == nil:
		return BaselineFile{}, errors.New(`not a refcmp tensors --format json report (no "tensors" and "counts"); write one with --write-baseline FILE`)
	}
	b := BaselineFile{Figures: map[string]ErrorFigures{}}
	for i, t := range *rep.Tensors {
		if t.Name == "" {
			return BaselineFile{}, fmt.Errorf("tensors[%d]: no name", i)
		}
		if _, dup := b.Figures[t.Name]; dup {
			return BaselineFile{}, fmt.Errorf("tensor %q appears twice", t.Name)
		}
		if t.Mismatched < 0 || t.Introduced < 0 {
			return BaselineFile{}, fmt.Errorf("tensor %q: negative count", t.Name)
		}
		b.Names = append(b.Names, t.Name)
		b.Figures[t.Name] = t.ErrorFigures
	}
	return b, nil
}

// JudgeError compares a pair's error now with its baseline (nil when
// there is none) under the factor worseBy (>= 1; DefaultWorseBy when 0):
// a figure grew when now > worseBy * before (NaN where before was a
// number grows, as does any NaN/Inf introduced beyond the factor); it
// shrank when now < before / worseBy. See BaselinePair for the verdict.
func JudgeError(name string, before *ErrorFigures, now ErrorFigures, worseBy float64) BaselinePair {
	if worseBy == 0 {
		worseBy = DefaultWorseBy
	}
	p := BaselinePair{Name: name, Baseline: before, Now: now, Grew: []string{}}
	if before == nil {
		p.Trend, p.Pass = TrendNew, now.Pass
		return p
	}
	if before.Pass && now.Pass {
		p.Trend, p.Pass = TrendSame, true // within tolerance both times: noise
		return p
	}
	shrank := false
	cmp := func(what string, b, n float64) {
		switch {
		case math.IsNaN(n) && !math.IsNaN(b), n > b*worseBy:
			p.Grew = append(p.Grew, what)
		case n < b/worseBy:
			shrank = true
		}
	}
	cmp("max_abs_diff", float64(before.MaxAbsDiff), float64(now.MaxAbsDiff))
	cmp("nmse", float64(before.NMSE), float64(now.NMSE))
	cmp("mismatched", float64(before.Mismatched), float64(now.Mismatched))
	cmp("introduced", float64(before.Introduced), float64(now.Introduced))
	if now.ShapeMismatch && !before.ShapeMismatch {
		p.Grew = append(p.Grew, "shape")
	}
	if before.Pass && !now.Pass {
		p.Grew = append(p.Grew, "pass")
	}
	switch {
	case len(p.Grew) > 0:
		p.Trend = TrendWorse
	case now.Pass || shrank:
		p.Trend = TrendBetter
	default:
		p.Trend = TrendSame
	}
	p.Pass = now.Pass || len(p.Grew) == 0
	return p
}

// ApplyBaseline judges every pair of r against prev (read from source)
// and sets r.Baseline and the verdict: r.Pass when every pair passes as
// JudgeError says and, without Common, no name is on one side only.
func (r *Report) ApplyBaseline(prev BaselineFile, source string, worseBy float64) {
	if worseBy == 0 {
		worseBy = DefaultWorseBy
	}
	b := &Baseline{Source: source, WorseBy: worseBy, Pairs: make([]BaselinePair, 0, len(r.Tensors)), Gone: []string{}}
	seen := map[string]bool{}
	pass := true
	for _, t := range r.Tensors {
		seen[t.Name] = true
		var before *ErrorFigures
		if f, ok := prev.Figures[t.Name]; ok {
			before = &f
		}
		p := JudgeError(t.Name, before, FiguresOf(t), worseBy)
		b.Pairs = append(b.Pairs, p)
		b.Counts.add(p)
		pass = pass && p.Pass
	}
	for _, n := range prev.Names {
		if !seen[n] {
			b.Gone = append(b.Gone, n)
		}
	}
	b.Counts.Gone = len(b.Gone)
	r.Baseline = b
	r.Pass = pass && (r.Common || r.Counts.RefOnly == 0 && r.Counts.OursOnly == 0)
	// The sequence and the first failure tell of the pairs that fail the
	// verdict: those worse than the baseline, not those it accepts.
	judged := slices.Clone(r.Tensors)
	r.FirstFailure = nil
	for i := range judged {
		judged[i].Pass = b.Pairs[i].Pass
		if !judged[i].Pass && r.FirstFailure == nil {
			name := judged[i].Name
			r.FirstFailure = &name
		}
	}
	r.setSequence(judged)
	switch s := &r.Sequence.Sequence; {
	case s.FirstFailure < 0 && b.Counts.Accepted > 0:
		s.Summary = fmt.Sprintf("no step worse than the baseline: %d of %d outside tolerance, accepted", b.Counts.Accepted, s.Steps)
	case s.FirstFailure >= 0:
		s.Evidence += "; judged against the baseline: a step fails when it is worse than the baseline, and passes when within tolerance or accepted"
	}
}

func (c *BaselineCounts) add(p BaselinePair) {
	switch p.Trend {
	case TrendBetter:
		c.Better++
	case TrendSame:
		c.Same++
	case TrendWorse:
		c.Worse++
	case TrendNew:
		c.New++
	}
	if p.Accepted() {
		c.Accepted++
	}
	if !p.Pass {
		c.Regressed++
	}
}
