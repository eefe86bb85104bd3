package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/tensor"
)

// inspectView is what the inspect renderers draw: the report and the
// flags that shape the text.
type inspectView struct {
	Report      inspectReport
	Stats       bool // --stats: statistics columns
	CheckFinite bool // --check-finite: verdict line and the NaN/Inf table
	All         bool // --all: no folding
}

// verdict is the --check-finite line:
//
//	no NaN or Inf in 18 tensors
//	NaN or Inf in 2 of 18 tensors; first in execution order: layers.0.mlp (step 14) at [0 3 5]: NaN
func (v inspectView) verdict() (pass bool, text string, ok bool) {
	f := v.Report.Finite
	if f == nil {
		return false, "", false
	}
	n := v.Report.Counts.Tensors
	if f.Pass {
		return true, "no NaN or Inf in " + plural(n, "tensor", "tensors"), true
	}
	text = fmt.Sprintf("NaN or Inf in %d of %s", f.Tensors, plural(n, "tensor", "tensors"))
	if e := f.First; e != nil {
		text += fmt.Sprintf("; first in execution order: %s (step %d) at %s: %s", e.Name, e.Step, tensor.FormatShape(e.Index), diffing.FormatValue(float64(e.Value)))
	}
	return false, text, true
}

// sourceLine describes the file:
//
//	ref.safetensors: safetensors, 18 tensors, 5.44 K params, 21.25 KiB, metadata order
func (v inspectView) sourceLine() string {
	r := v.Report
	c := r.Counts
	s := fmt.Sprintf("%s: %s, %s, %s params, %s", r.Source, r.Format, plural(c.Tensors, "tensor", "tensors"),
		humanCount(c.Params), humanBytes(c.Bytes))
	if r.Order != diffing.OrderSingle {
		s += ", " + r.Order + " order"
	}
	return s
}

// table is the listing. Without --all and without statistics, rows that
// differ only in layer indices fold into one.
func (v inspectView) table() tableSection {
	r := v.Report
	s := tableSection{Title: "Tensors", Count: len(r.Tensors)}
	fold := !v.All && !v.Stats
	if !fold {
		s.Header = append(s.Header, "step")
		s.Code = append(s.Code, false)
	}
	s.Header = append(s.Header, "name", "dtype", "shape", "params", "bytes")
	s.Code = append(s.Code, true, false, true, false, false)
	if v.Stats {
		s.Header = append(s.Header, "min", "max", "mean", "std", "NaN", "Inf")
		s.Code = append(s.Code, false, false, false, false, false, false)
	}
	for i, t := range r.Tensors {
		var row []string
		if !fold {
			row = append(row, strconv.Itoa(i))
		}
		row = append(row, t.Name, dtypeCell(t.DType), tensor.FormatShape(t.Shape), optInt(t.Params), optInt(t.Bytes))
		if v.Stats {
			if st := t.Stats; st != nil {
				row = append(row, statsRow("", *st)[1:]...)
			} else {
				row = append(row, "-", "-", "-", "-", "-", "-")
			}
		}
		s.Rows = append(s.Rows, row)
	}
	if fold {
		s.Rows = foldRows(s.Rows, []bool{true, false, false, false, false})
	}
	return s
}

// nonFinite lists the tensors holding NaN or Inf (--check-finite).
func (v inspectView) nonFinite() (tableSection, bool) {
	if v.Report.Finite == nil || v.Report.Finite.Pass {
		return tableSection{}, false
	}
	s := tableSection{
		Title:  "NaN/Inf",
		Header: []string{"step", "name", "shape", "NaN", "Inf", "first at", "value"},
		Code:   []bool{false, true, true, false, false, true, false},
	}
	for i, t := range v.Report.Tensors {
		if t.Stats == nil || t.Stats.NaN+t.Stats.Inf == 0 {
			continue
		}
		at, val := "-", "-"
		if e := t.FirstNonFinite; e != nil {
			at, val = tensor.FormatShape(e.Index), diffing.FormatValue(float64(e.Value))
		}
		s.Rows = append(s.Rows, []string{strconv.Itoa(i), t.Name, tensor.FormatShape(t.Shape),
			strconv.FormatInt(t.Stats.NaN, 10), strconv.FormatInt(t.Stats.Inf, 10), at, val})
	}
	s.Count = len(s.Rows)
	return s, true
}

func optInt(p *int64) string {
	if p == nil {
		return "?"
	}
	return strconv.FormatInt(*p, 10)
}

// humanBytes writes a byte count in binary units: 512 B, 21.25 KiB,
// 1.50 GiB.
func humanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 || unit == "TiB" {
			return fmt.Sprintf("%.2f %s", v, unit)
		}
	}
	return ""
}

// renderInspectText writes the listing as text.
func renderInspectText(w io.Writer, v inspectView, st textStyle) error {
	var b strings.Builder
	if pass, text, ok := v.verdict(); ok {
		fmt.Fprintf(&b, "%s %s\n", st.verdict(pass), text)
	}
	fmt.Fprintf(&b, "%s\n", v.sourceLine())
	for _, n := range v.Report.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if s, ok := v.nonFinite(); ok {
		if err := writeTextSection(w, s, st); err != nil {
			return err
		}
	}
	if len(v.Report.Tensors) == 0 {
		return nil
	}
	if err := writeTextSection(w, v.table(), st); err != nil {
		return err
	}
	titles, texts := v.valuesBlocks()
	for i := range titles {
		if _, err := fmt.Fprintf(w, "\n%s\n%s\n", st.head(titles[i]), texts[i]); err != nil {
			return err
		}
	}
	return nil
}

// renderInspectMarkdown writes the listing as Markdown.
func renderInspectMarkdown(w io.Writer, v inspectView) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### refcmp inspect: %s\n\n", mdCode(v.Report.Source))
	if pass, text, ok := v.verdict(); ok {
		fmt.Fprintf(&b, "%s: **%s**\n\n", mdVerdict(pass), mdCell(text))
	}
	r := v.Report
	fmt.Fprintf(&b, "- %s\n", mdCell(strings.TrimPrefix(v.sourceLine(), r.Source+": ")))
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- note: %s\n", mdCell(n))
	}
	if s, ok := v.nonFinite(); ok {
		writeMarkdownSection(&b, s, v.All)
	}
	if len(r.Tensors) > 0 {
		writeMarkdownSection(&b, v.table(), v.All)
	}
	titles, texts := v.valuesBlocks()
	for i := range titles {
		fmt.Fprintf(&b, "\n%s\n\n```text\n%s\n```\n", mdCode(titles[i]), texts[i])
	}
	_, err := io.WriteString(w, b.String())
	return err
}
