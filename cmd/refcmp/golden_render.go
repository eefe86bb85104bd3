package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/golden"
	"github.com/refcmp/refcmp/tensor"
)

// goldenView is what the golden check renderers draw.
type goldenView struct {
	Report golden.Report
	All    bool
}

// verdict is the first line:
//
//	18 tensors match the golden record (stats mode)
//	1 of 18 tensors changed, 1 new; first change: layers.0.mlp (stats mode)
func (v goldenView) verdict() (pass bool, text string) {
	r := v.Report
	c := r.Counts
	var b strings.Builder
	switch {
	case c.Changed > 0:
		fmt.Fprintf(&b, "%d of %s changed", c.Changed, plural(c.Checked, "tensor", "tensors"))
	case c.Checked == 0:
		b.WriteString("no recorded tensor found")
	default:
		b.WriteString(plural(c.Checked, "tensor", "tensors"))
		if c.Checked == 1 {
			b.WriteString(" matches")
		} else {
			b.WriteString(" match")
		}
		b.WriteString(" the golden record")
	}
	if c.New > 0 {
		fmt.Fprintf(&b, ", %d new", c.New)
	}
	if c.Missing > 0 {
		fmt.Fprintf(&b, ", %d missing", c.Missing)
	}
	if r.FirstChange != nil {
		fmt.Fprintf(&b, "; first change: %s", *r.FirstChange)
	}
	fmt.Fprintf(&b, " (%s mode", r.Mode)
	if n := v.bitsDiffer(); n > 0 {
		fmt.Fprintf(&b, "; %s within tolerance with different bits", plural(n, "tensor", "tensors"))
	}
	b.WriteString(")")
	return r.Pass, b.String()
}

// bitsDiffer counts passing tensors whose hash differs.
func (v goldenView) bitsDiffer() int {
	n := 0
	for _, t := range v.Report.Tensors {
		if t.Pass && t.HashMatch != nil && !*t.HashMatch {
			n++
		}
	}
	return n
}

// sourcesLine is the line under the verdict.
func (v goldenView) sourcesLine() string {
	r := v.Report
	return fmt.Sprintf("golden %s (recorded from %s, %s) vs %s (%s, %s)",
		r.Golden.Path, r.Golden.Source, plural(r.Golden.Tensors, "tensor", "tensors"),
		r.Input.Source, r.Input.Format, plural(r.Input.Tensors, "tensor", "tensors"))
}

// table lists the changed tensors, or with --all every checked one.
func (v goldenView) table() (tableSection, bool) {
	s := tableSection{Title: "Changed", Header: []string{"name", "shape", "dtype", "what changed"}, Code: []bool{true, true, false, false}}
	if v.All {
		s.Title = "Checked"
		s.Header[3] = "verdict"
	}
	for _, t := range v.Report.Tensors {
		if t.Pass && !v.All {
			continue
		}
		s.Rows = append(s.Rows, []string{t.Name, tensor.FormatShape(t.Shape), dtypeCell(t.DType), goldenVerdictCell(t)})
	}
	s.Count = len(s.Rows)
	return s, len(s.Rows) > 0
}

// goldenVerdictCell says in a few words what happened to a tensor.
func goldenVerdictCell(t golden.TensorCheck) string {
	if t.Pass {
		if t.HashMatch != nil && !*t.HashMatch {
			return "unchanged (within tolerance; bits differ)"
		}
		return "unchanged"
	}
	var whats []string
	values := 0
	for _, ch := range t.Changes {
		if ch.What == "value" {
			values++
			continue
		}
		whats = append(whats, ch.What)
	}
	if values > 0 {
		whats = append(whats, plural(values, "sampled value", "sampled values"))
	}
	return strings.Join(whats, ", ")
}

// onlySections lists new and missing tensors, folded.
func (v goldenView) onlySections() []tableSection {
	out := appendNames(nil, "New (in INPUT, not recorded)", v.Report.New)
	return appendNames(out, "Missing (recorded, not in INPUT)", v.Report.Missing)
}

// details are the blocks of the changed tensors (the first maxDetails
// without --all), and how many more --all would show.
func (v goldenView) details() (out []detail, more int) {
	for _, t := range v.Report.Tensors {
		if t.Pass {
			continue
		}
		if !v.All && len(out) == maxDetails {
			more++
			continue
		}
		d := detail{Title: fmt.Sprintf("%s  %s  %s", t.Name, tensor.FormatShape(t.Shape), dtypeCell(t.DType))}
		if t.CurrentName != "" {
			d.Title += "  (INPUT: " + t.CurrentName + ")"
		}
		d.Facts = append(d.Facts, "compared: "+goldenRuleText(v.Report.Mode, t.Tolerance))
		if t.Recorded != nil && t.Current != nil {
			d.Stats = [][]string{
				{"", "min", "max", "mean", "std", "NaN", "Inf"},
				statsRow("recorded", *t.Recorded),
				statsRow("current", *t.Current),
			}
		}
		for _, ch := range t.Changes {
			d.Facts = append(d.Facts, "changed: "+ch.Text())
		}
		out = append(out, d)
	}
	return out, more
}

// goldenRuleText says what a tensor was held to.
func goldenRuleText(mode golden.Mode, tol *diffing.Tolerance) string {
	switch {
	case mode == golden.ModeStructure:
		return "structure: shape and dtype"
	case mode == golden.ModeExact:
		return "exact: shape, dtype and SHA-256 of the data"
	case tol == nil:
		return string(mode)
	case tol.Exact:
		return "exact (a --tol rule): shape, dtype and SHA-256 of the data"
	case tol.Check == diffing.CheckMaxAbs:
		return fmt.Sprintf("stats: NaN/Inf counts exactly; min, max, mean, std and sampled values within |current - recorded| <= %s", diffing.FormatStat(tol.Atol))
	}
	return fmt.Sprintf("stats: NaN/Inf counts exactly; min, max, mean, std and sampled values within |current - recorded| <= atol + rtol * |recorded|, atol %s, rtol %s",
		diffing.FormatStat(tol.Atol), diffing.FormatStat(tol.Rtol))
}

// renderGoldenText writes a golden check as text.
func renderGoldenText(w io.Writer, v goldenView, st textStyle) error {
	var b strings.Builder
	pass, text := v.verdict()
	fmt.Fprintf(&b, "%s %s\n", st.verdict(pass), text)
	fmt.Fprintf(&b, "%s\n", v.sourcesLine())
	for _, n := range v.Report.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if s, ok := v.table(); ok {
		if err := writeTextSection(w, s, st); err != nil {
			return err
		}
	}
	for _, s := range v.onlySections() {
		if err := writeTextSection(w, s, st); err != nil {
			return err
		}
	}
	ds, more := v.details()
	return writeTextDetails(w, ds, more, "more changed tensor", "more changed tensors", st)
}

// renderGoldenMarkdown writes a golden check as Markdown.
func renderGoldenMarkdown(w io.Writer, v goldenView) error {
	var b strings.Builder
	r := v.Report
	pass, text := v.verdict()
	fmt.Fprintf(&b, "### refcmp golden check: %s\n\n", mdVerdict(pass))
	fmt.Fprintf(&b, "**%s**\n\n", mdCell(text))
	fmt.Fprintf(&b, "- golden: %s (recorded from %s, %s)\n", mdCode(r.Golden.Path), mdCode(r.Golden.Source), plural(r.Golden.Tensors, "tensor", "tensors"))
	fmt.Fprintf(&b, "- input: %s (%s, %s)\n", mdCode(r.Input.Source), r.Input.Format, plural(r.Input.Tensors, "tensor", "tensors"))
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- note: %s\n", mdCell(n))
	}
	if s, ok := v.table(); ok {
		writeMarkdownSection(&b, s, v.All)
	}
	for _, s := range v.onlySections() {
		writeMarkdownSection(&b, s, v.All)
	}
	ds, more := v.details()
	writeMarkdownDetails(&b, "Changed tensors", ds, more, "more changed tensor", "more changed tensors")
	_, err := io.WriteString(w, b.String())
	return err
}
