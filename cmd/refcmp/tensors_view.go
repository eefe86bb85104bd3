package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/tensor"
)

// tensorsView is what the tensors renderers draw: the report and --all.
// Its methods give format-neutral pieces (plain strings and table
// sections) that the text and Markdown renderers both use.
type tensorsView struct {
	Report    diffing.Report
	All       bool
	Heat      map[int]*diffing.HeatGrid // terminal heatmaps by pair index (plot_flags.go)
	HeatWidth int
	// Details is how many failing pairs get a detail block without --all
	// (--details N): the first failure, by default; later ones are
	// mostly its consequences.
	Details int
	// Logits (--logits) lists the llama.cpp band of passing pairs too
	// (failing pairs have it in their detail block).
	Logits bool
}

// single reports a comparison of one pair of single tensors.
func (v tensorsView) single() bool { return v.Report.Sequence.Order == diffing.OrderSingle }

// verdict is the first line: PASS or FAIL and the counts.
//
//	FAIL: 3 of 24 tensors differ; first divergence at step 7/24: layers.1.attn.out (steps 0-6 pass)
func (v tensorsView) verdict() (pass bool, text string) {
	r := v.Report
	c := r.Counts
	var b strings.Builder
	switch {
	case v.single() && len(r.Tensors) == 1:
		t := r.Tensors[0]
		if t.Pass {
			fmt.Fprintf(&b, "%s matches %s", r.Ours.Label(), r.Ref.Label())
			if m := float64(t.MaxAbsDiff); !math.IsNaN(m) && m > 0 {
				fmt.Fprintf(&b, " within tolerance (max|diff| %s)", diffing.FormatStat(m))
			} else if t.Numel > 0 {
				b.WriteString(" exactly")
			}
		} else {
			fmt.Fprintf(&b, "%s differs from %s: %s", r.Ours.Label(), r.Ref.Label(), t.FailReason())
			if c.Noise > 0 {
				b.WriteString("; float rounding noise, not a bug")
			}
		}
	case c.Failed > 0:
		verb := "differ"
		if c.Failed == 1 {
			verb = "differs"
		}
		fmt.Fprintf(&b, "%d of %s %s", c.Failed, plural(c.Compared, "tensor", "tensors"), verb)
		if c.Noise > 0 { // (none: every failing pair is above float noise)
			fmt.Fprintf(&b, " (%d at float-noise level, %d not)", c.Noise, c.Failed-c.Noise)
		}
		if f := r.Sequence.FirstFailure; f >= 0 {
			fmt.Fprintf(&b, "; first divergence at step %d/%d: %s", f, r.Sequence.Steps, *r.FirstFailure)
			switch f {
			case 0:
				b.WriteString(" (the first step)")
			case 1:
				b.WriteString(" (step 0 passes)")
			default:
				fmt.Fprintf(&b, " (steps 0-%d pass)", f-1)
			}
		}
	case c.Compared == 0:
		b.WriteString("no tensors in common")
	default:
		fmt.Fprintf(&b, "%s match", plural(c.Compared, "tensor", "tensors"))
		if c.Compared == 1 {
			b.WriteString("es")
		}
		if m := diffing.MaxAbsDiff(r.Tensors); !math.IsNaN(m) {
			fmt.Fprintf(&b, " (max|diff| %s)", diffing.FormatStat(m))
		}
	}
	if r.Baseline != nil {
		b.Reset()
		b.WriteString(baselineVerdict(r.Baseline, "tensor"))
	}
	var extra []string
	if c.RefOnly > 0 {
		extra = append(extra, fmt.Sprintf("%d only in REF", c.RefOnly))
	}
	if c.OursOnly > 0 {
		extra = append(extra, fmt.Sprintf("%d only in OURS", c.OursOnly))
	}
	if c.Ignored > 0 {
		extra = append(extra, fmt.Sprintf("%d ignored", c.Ignored))
	}
	if r.Common && c.RefOnly+c.OursOnly > 0 {
		extra = append(extra, fmt.Sprintf("compared %d of %d (--common)", c.Compared, c.Compared+c.RefOnly))
	}
	if len(extra) > 0 {
		b.WriteString("; " + strings.Join(extra, ", "))
	}
	return r.Pass, b.String()
}

// describe writes a source for the line under the verdict.
func describe(s diffing.Source) string {
	return fmt.Sprintf("%s (%s, %s)", s.Label(), s.Format, plural(s.Tensors, "tensor", "tensors"))
}

// sourcesLine is the line under the verdict.
func (v tensorsView) sourcesLine() string {
	return "REF " + describe(v.Report.Ref) + " vs OURS " + describe(v.Report.Ours)
}

// sequenceLine describes the sequence, for two steps or more: the
// profile and the sparkline.
func (v tensorsView) sequenceLine() (text, spark string, ok bool) {
	s := v.Report.Sequence
	if s.Steps < 2 {
		return "", "", false
	}
	return fmt.Sprintf("sequence (%s order, %d steps): %s", s.Order, s.Steps, s.Summary), s.Sparkline, true
}

// sequenceEvidence is the numbers behind the sequence profile, or "".
func (v tensorsView) sequenceEvidence() string {
	s := v.Report.Sequence
	if s.Steps < 2 {
		return ""
	}
	ev := s.Evidence
	if s.LookAt != "" {
		ev += "\n  look at: " + s.LookAt
	}
	if s.Consequences != "" {
		ev += "\n  " + s.Consequences
	}
	return ev
}

// notes are the report's notes and the sources' notes.
func (v tensorsView) notes() []string {
	r := v.Report
	var out []string
	for _, n := range r.Ref.Notes {
		out = append(out, "REF: "+n)
	}
	for _, n := range r.Ours.Notes {
		out = append(out, "OURS: "+n)
	}
	return append(append(out, r.Notes...), v.logitsNotes()...)
}

// tableHeader is the header of the tensors table.
var tensorsHeader = []string{"step", "name", "shape", "dtype", "max|diff|", "mean|diff|", "mismatched", "cosine", "verdict"}

// table is the per-pair table. Without --all, runs of passing pairs
// fold into one row ("7 passing"), so the failures stand out in order.
func (v tensorsView) table() tableSection {
	r := v.Report
	s := tableSection{
		Title:  "Tensors",
		Count:  len(r.Tensors),
		Header: tensorsHeader,
		Code:   []bool{false, true, true, false, false, false, false, false, false},
	}
	for i := 0; i < len(r.Tensors); {
		t := r.Tensors[i]
		if v.All || !t.Pass {
			row := tensorRow(i, t)
			if v.accepted(i) {
				row[len(row)-1] = "accepted"
			}
			s.Rows = append(s.Rows, row)
			i++
			continue
		}
		j := i
		maxd := math.NaN()
		for j < len(r.Tensors) && r.Tensors[j].Pass {
			if m := float64(r.Tensors[j].MaxAbsDiff); !math.IsNaN(m) && (math.IsNaN(maxd) || m > maxd) {
				maxd = m
			}
			j++
		}
		if j-i == 1 {
			s.Rows = append(s.Rows, tensorRow(i, t))
		} else {
			step := fmt.Sprintf("%d-%d", i, j-1)
			md := ""
			if !math.IsNaN(maxd) {
				md = "<= " + diffing.FormatStat(maxd)
			}
			s.Rows = append(s.Rows, []string{step, fmt.Sprintf("(%d passing)", j-i), "", "", md, "", "0", "", "pass"})
		}
		i = j
	}
	return s
}

// tensorRow is one pair's row.
func tensorRow(step int, t diffing.Result) []string {
	shape := tensor.FormatShape(t.Shape)
	dt := dtypeCell(t.RefDType)
	if t.OursDType != t.RefDType {
		dt += "/" + dtypeCell(t.OursDType)
	}
	row := []string{strconv.Itoa(step), t.Name, shape, dt, "", "", "", "", verdictCell(t)}
	if t.ShapeMismatch {
		row[2] = shape + " vs " + tensor.FormatShape(t.OursShape)
		row[4], row[5], row[6], row[7] = "-", "-", "-", "-"
		return row
	}
	row[4] = diffing.FormatStat(float64(t.MaxAbsDiff))
	row[5] = diffing.FormatStat(float64(t.MeanAbsDiff))
	row[6] = diffing.FormatPercent(float64(t.MismatchFraction))
	row[7] = diffing.FormatCosine(float64(t.Cosine))
	return row
}

// accepted reports pair i outside tolerance but passed by the baseline.
func (v tensorsView) accepted(i int) bool {
	b := v.Report.Baseline
	return b != nil && i < len(b.Pairs) && b.Pairs[i].Accepted()
}

// acceptedName is accepted by REF name.
func (v tensorsView) acceptedName(name string) bool {
	for i, t := range v.Report.Tensors {
		if t.Name == name {
			return v.accepted(i)
		}
	}
	return false
}

// verdictCell is the last cell of a row.
func verdictCell(t diffing.Result) string {
	switch {
	case t.Pass:
		return "pass"
	case t.ShapeMismatch:
		return "FAIL (shape)"
	case t.Introduced > 0:
		return "FAIL (NaN/Inf)"
	}
	return "FAIL"
}

// onlySections lists the names found on one side only, folded.
func (v tensorsView) onlySections() []tableSection {
	r := v.Report
	out := appendNames(nil, "Only in REF", r.RefOnly)
	out = appendNames(out, "Only in OURS", r.OursOnly)
	if v.All {
		out = appendNames(out, "Ignored in REF (--ignore)", r.Ignored.Ref)
		out = appendNames(out, "Ignored in OURS (--ignore)", r.Ignored.Ours)
	}
	return out
}

// detail is the block written for a failing pair.
type detail struct {
	Title     string     // "layers.1.attn.out  [2 4]  F32 vs BF16"
	Facts     []string   // one line each
	Stats     [][]string // header row, then ref and ours
	Hints     []diffing.TensorHint
	Histogram []string // one line per bin, bars included
	Notes     []string
	Heat      *diffing.HeatGrid // a terminal heatmap to draw, or nil
	HeatWidth int
}

// maxDetails bounds the detail blocks shown without --all: past the
// first failures of a forward pass, the rest are mostly their echoes.
const maxDetails = 10

// details are the blocks of the failing pairs, in order, and how many
// more failing pairs --all would show: the first max(1, --details), and
// beyond them up to maxDetails of the later pairs whose diagnosis names
// a cause of its own (Sequence.OwnCause): independent findings, not
// consequences of the first failure.
func (v tensorsView) details() (out []detail, more int) {
	own := map[int]bool{}
	for _, i := range v.Report.Sequence.OwnCause {
		own[i] = true
	}
	extra := 0
	for i, t := range v.Report.Tensors {
		if t.Pass || v.accepted(i) {
			continue
		}
		if !v.All && len(out)-extra >= v.Details {
			if !own[i] || extra == maxDetails {
				more++
				continue
			}
			extra++
		}
		out = append(out, tensorDetail(i, t, v.single()))
		out[len(out)-1].Heat, out[len(out)-1].HeatWidth = v.Heat[i], v.HeatWidth
	}
	return out, more
}

// tensorDetail is a failing pair's block. Its facts are the Go API's
// Result.Facts, so the two cannot drift, less the sides' statistics,
// drawn here as a table, and, for a single pair, the ours name, which
// the verdict already gives.
func tensorDetail(step int, t diffing.Result, single bool) detail {
	shape := tensor.FormatShape(t.Shape)
	if t.ShapeMismatch {
		shape += " vs " + tensor.FormatShape(t.OursShape)
	}
	dt := dtypeCell(t.RefDType)
	if t.OursDType != t.RefDType {
		dt += " vs " + dtypeCell(t.OursDType)
	}
	d := detail{
		Title: fmt.Sprintf("%s  %s  %s", t.Name, shape, dt),
		Stats: [][]string{
			{"", "min", "max", "mean", "std", "NaN", "Inf"},
			statsRow("ref", t.Ref),
			statsRow("ours", t.Ours),
		},
		Hints:     t.Hints,
		Histogram: histogramLines(t.Histogram),
		Notes:     t.Notes,
	}
	if !single {
		d.Title = fmt.Sprintf("step %d: %s", step, d.Title)
	}
	for _, f := range t.Facts() {
		if strings.HasPrefix(f, "ref:  ") || strings.HasPrefix(f, "ours: ") || single && strings.HasPrefix(f, "ours name: ") {
			continue
		}
		d.Facts = append(d.Facts, f)
	}
	return d
}

// statsRow is a side's statistics as table cells, after a label.
func statsRow(side string, s diffing.SideStats) []string {
	return []string{side, diffing.FormatStat(float64(s.Min)), diffing.FormatStat(float64(s.Max)), diffing.FormatStat(float64(s.Mean)), diffing.FormatStat(float64(s.Std)),
		strconv.FormatInt(s.NaN, 10), strconv.FormatInt(s.Inf, 10)}
}

// histogramLines draws the |diff| histogram, one decade per line.
func histogramLines(h []diffing.HistBin) []string {
	if len(h) == 0 {
		return nil
	}
	const width = 30
	var maxc int64
	labels := make([]string, len(h))
	lw := 0
	for i, b := range h {
		maxc = max(maxc, b.Count)
		if float64(b.Lo) == 0 && float64(b.Hi) == 0 {
			labels[i] = "0"
		} else {
			labels[i] = fmt.Sprintf("[%s, %s)", diffing.FormatStat(float64(b.Lo)), diffing.FormatStat(float64(b.Hi)))
		}
		lw = max(lw, len(labels[i]))
	}
	out := make([]string, len(h))
	for i, b := range h {
		n := 0
		if maxc > 0 && b.Count > 0 {
			n = max(1, int(math.Round(float64(b.Count)/float64(maxc)*width)))
		}
		out[i] = fmt.Sprintf("%-*s %s %d", lw, labels[i], strings.Repeat("█", n)+strings.Repeat(" ", width-n), b.Count)
	}
	return out
}
