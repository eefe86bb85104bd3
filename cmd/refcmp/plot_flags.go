package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/refcmp/refcmp/cmd/refcmp/plot"
	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/golden"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Pictures of the differences: --plot DIR writes PNG files and one
// self-contained index.html; the text output's detail block of a failing
// pair whose mismatches have 2-D structure gets a terminal heatmap, when
// the output is a terminal or --plot is given (so that text piped to a
// file or compared in tests stays as it was). They are drawn from
// aggregates the diagnosis pass gathers (diffing.Result.Picture, asked for
// with CompareAllOptions.Pictures), never from a copy of a tensor.

// plotFlags holds --plot.
type plotFlags struct {
	dir string
}

func (p *plotFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.dir, "plot", "", "write pictures of the differences (PNG files and a self-contained index.html) into `DIR`")
}

// heatWidth is the width a terminal heatmap may take: the terminal's,
// else 80 columns, less the detail block's indent.
func heatWidth(w io.Writer) int {
	width := 80
	if f, ok := w.(*os.File); ok && isTerminal(w) {
		if c, _, err := term.GetSize(int(f.Fd())); err == nil && c > 20 {
			width = c
		}
	}
	return min(width, 200) - 4
}

// wanted reports whether tensors will draw pictures: a terminal heatmap
// in the text output, or --plot.
func (p *plotFlags) wanted(a *app, format string) bool {
	return p.dir != "" || (format == formatText || format == "") && isTerminal(a.stdout)
}

// tensors gathers the pictures of the failing pairs of the same shape
// that are shown (the text detail blocks, or with --plot every one),
// puts the structured heatmaps into the view, and writes --plot DIR.
func (p *plotFlags) tensors(a *app, view *tensorsView, ref, ours diffing.Input, format string, title string) error {
	text := (format == formatText || format == "") && (p.dir != "" || isTerminal(a.stdout))
	if !p.wanted(a, format) {
		return nil
	}
	view.Heat = map[int]*diffing.HeatGrid{}
	view.HeatWidth = heatWidth(a.stdout)
	var pairs []plot.PairReport
	ds, _ := view.details()
	shown := 0
	for i, res := range view.Report.Tensors {
		if res.Pass {
			continue
		}
		shown++
		if res.ShapeMismatch || (p.dir == "" && shown > len(ds)) {
			continue
		}
		pic, err := pairPicture(res, ref, ours, view.Report.Pairs[i])
		if err != nil {
			return err
		}
		if text && pic.Heat.Structured() {
			view.Heat[i] = pic.Heat
		}
		if p.dir == "" {
			continue
		}
		figs, err := plot.PairFigures(pic, fmt.Sprintf("%03d-%s", i, plot.FileName(res.Name)))
		if err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		d := tensorDetail(i, res, view.single())
		pairs = append(pairs, plot.PairReport{Title: d.Title, Diagnosis: detailLines(d), Figures: figs})
	}
	if p.dir == "" {
		return nil
	}
	_, verdict := view.verdict()
	s := view.table()
	r := plot.Report{Title: title, Pass: view.Report.Pass, Verdict: verdict, Header: s.Header, Rows: s.Rows, Pairs: pairs, Notes: view.notes()}
	if !view.single() && len(view.Report.Tensors) > 1 {
		if seq, _, ok := view.sequenceLine(); ok {
			r.Sequence = append(r.Sequence, seq)
		}
		if ev := view.sequenceEvidence(); ev != "" {
			r.Sequence = append(r.Sequence, ev)
		}
		b, err := plot.Sequence(diffing.Curve(view.Report.Tensors))
		if err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		r.Curve = &plot.Figure{File: "sequence.png", Alt: "max|diff| and NMSE per step", PNG: b}
	}
	return p.write(r)
}

// pairPicture is the picture the diagnosis gathered, else (a pair not
// diagnosed) one more pass over it.
func pairPicture(res diffing.Result, ref, ours diffing.Input, q diffing.PairIndex) (diffing.Picture, error) {
	if res.Picture != nil {
		return *res.Picture, nil
	}
	pic, err := diffing.Pictures(ref.Tensors[q.Ref], ours.Tensors[q.Ours], res, diffing.PictureOptions{})
	if err != nil {
		return diffing.Picture{}, fmt.Errorf("%s vs %s: %w", ref.Arg, ours.Arg, err)
	}
	return pic, nil
}

func (p *plotFlags) write(r plot.Report) error {
	if err := plot.WriteDir(p.dir, r); err != nil {
		return fmt.Errorf("--plot %s: %w", p.dir, err)
	}
	return nil
}

// detailLines is a detail block as plain lines: facts, the sides'
// statistics, hints with their evidence, notes.
func detailLines(d detail) []string {
	var out []string
	if len(d.Facts) > 0 {
		out = append(out, d.Facts[0])
	}
	out = append(out, strings.Split(strings.TrimRight(alignRows(d.Stats, ""), "\n"), "\n")...)
	if len(d.Facts) > 1 {
		out = append(out, d.Facts[1:]...)
	}
	for _, h := range d.Hints {
		out = append(out, fmt.Sprintf("hint %s: %s", h.Kind, h.Summary))
		if h.Evidence != "" {
			out = append(out, "  evidence: "+h.Evidence)
		}
	}
	for _, n := range d.Notes {
		out = append(out, "note: "+n)
	}
	return out
}

// terminalHeat is the detail block's heatmap lines (none without one).
func terminalHeat(d detail, st textStyle) []string {
	if d.Heat == nil {
		return nil
	}
	return plot.Terminal(d.Heat, d.HeatWidth, st.color)
}

// golden writes --plot DIR for a golden check: the verdict, the table,
// the changes of each changed tensor, and per tensor in recorded order
// the largest |current - recorded| of its statistics and samples against
// what the tolerance allows there.
func (p *plotFlags) golden(view goldenView, title string) error {
	if p.dir == "" {
		return nil
	}
	rep := view.Report
	_, verdict := view.verdict()
	r := plot.Report{Title: title, Pass: rep.Pass, Verdict: verdict, Notes: rep.Notes}
	if s, ok := view.table(); ok {
		r.Header, r.Rows = s.Header, s.Rows
	}
	ds, _ := view.details()
	for _, d := range ds {
		r.Pairs = append(r.Pairs, plot.PairReport{Title: d.Title, Diagnosis: detailLines(d)})
	}
	if n := len(rep.Tensors); n > 1 && rep.Mode == golden.ModeStats {
		c := diffing.SequenceCurve{What: "max |current - recorded| (statistics and samples)", FirstFailure: -1}
		for i, t := range rep.Tensors {
			worst, allowed := 0.0, math.NaN()
			for _, ch := range t.Changes {
				if ch.AbsDiff != nil && float64(*ch.AbsDiff) >= worst {
					worst = float64(*ch.AbsDiff)
					if ch.Allowed != nil {
						allowed = float64(*ch.Allowed)
					}
				}
			}
			c.Names = append(c.Names, t.Name)
			c.MaxAbs = append(c.MaxAbs, worst)
			c.NMSE = append(c.NMSE, math.NaN())
			c.Allowed = append(c.Allowed, allowed)
			c.Pass = append(c.Pass, t.Pass)
			if !t.Pass && c.FirstFailure < 0 {
				c.FirstFailure = i
			}
		}
		b, err := plot.Sequence(c)
		if err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		r.Curve = &plot.Figure{File: "sequence.png", Alt: "largest change per tensor", PNG: b}
	}
	return p.write(r)
}
