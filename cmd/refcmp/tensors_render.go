package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Renderers of `refcmp tensors`, one per format, as for weights
// (render_text.go, render_markdown.go; the JSON is the report itself,
// written by writeJSON): the text is for people, the JSON is the stable
// contract, the Markdown is for a pull-request comment or a CI step
// summary.

// renderTensorsText writes the report as text: verdict and counts, the
// sources, the sequence profile, the table, names on one side only, and a
// detail block per failing pair.
func renderTensorsText(w io.Writer, v tensorsView, st textStyle) error {
	var b strings.Builder
	pass, text := v.verdict()
	fmt.Fprintf(&b, "%s %s\n", st.verdict(pass), text)
	fmt.Fprintf(&b, "%s\n", v.sourcesLine())
	if seq, spark, ok := v.sequenceLine(); ok {
		fmt.Fprintf(&b, "%s\n  %s  (log10 max|diff| per step)\n", seq, spark)
		for _, line := range strings.Split(v.sequenceEvidence(), "\n") {
			if line == "" {
				continue
			}
			// Each line wraps under its own text, "look at:" as the hints' do.
			prefix, text := "  ", strings.TrimPrefix(line, "  ")
			if rest, ok := strings.CutPrefix(text, "look at: "); ok {
				prefix, text = "  look at: ", rest
			}
			b.WriteString(wrapLine(prefix, text, st.width))
		}
	}
	for _, n := range v.notes() {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if len(v.Report.Tensors) > 0 && (!v.single() || v.All) {
		s := v.table()
		if st.color {
			s.Rows = paintVerdicts(s.Rows, st)
		}
		title := s.Title + ": " + plural(s.Count, "pair", "pairs")
		if len(s.Rows) != s.Count {
			title += " (passing runs folded; --all lists every pair)"
		}
		if _, err := fmt.Fprintf(w, "\n%s\n", st.head(title)); err != nil {
			return err
		}
		h, rows := fitTable(s.Header, s.Rows, st.width, "mean|diff|", "shape")
		if err := writeTable(w, h, rows); err != nil {
			return err
		}
	}
	if b := v.Report.Baseline; b != nil {
		if s := baselineSection(b, v.All, strconv.Itoa); len(s.Rows) > 0 {
			if err := writeTextSection(w, s, st); err != nil {
				return err
			}
		}
	}
	for _, s := range v.onlySections() {
		if err := writeTextSection(w, s, st); err != nil {
			return err
		}
	}
	if err := writeTextHints(w, v.Report.NameHints, "", st); err != nil {
		return err
	}
	ds, more := v.details()
	return writeTextDetails(w, ds, more, "more failing pair", "more failing pairs", st)
}

// writeTextDetails writes detail blocks and says how many more --all
// would show.
func writeTextDetails(w io.Writer, ds []detail, more int, one, many string, st textStyle) error {
	for _, d := range ds {
		if err := writeTextDetail(w, d, st); err != nil {
			return err
		}
	}
	if more > 0 {
		_, err := fmt.Fprintf(w, "\n… and %s (details with --details N or --all; every number with --format json)\n", plural(more, one, many))
		return err
	}
	return nil
}

// paintVerdicts colors the verdict column.
func paintVerdicts(rows [][]string, st textStyle) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		r = append([]string(nil), r...)
		last := len(r) - 1
		if r[last] == "pass" {
			r[last] = st.good(r[last])
		} else {
			r[last] = st.bad(r[last])
		}
		out[i] = r
	}
	return out
}

// writeTextDetail writes one failing pair's block.
func writeTextDetail(w io.Writer, d detail, st textStyle) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s %s\n", st.bad("FAIL"), st.head(d.Title))
	for _, f := range d.Facts[:1] {
		b.WriteString(wrapLine("  ", f, st.width))
	}
	b.WriteString(alignRows(d.Stats, "  "))
	for _, f := range d.Facts[1:] {
		b.WriteString(wrapLine("  ", f, st.width))
	}
	if len(d.Hints) > 0 {
		b.WriteString("  hints:\n")
		for _, h := range d.Hints {
			b.WriteString(wrapLine("    - "+h.Kind+": ", st.hint(h.Summary), st.width))
			if h.Evidence != "" {
				b.WriteString(wrapLine("      evidence: ", h.Evidence, st.width))
			}
			if h.Look != "" {
				b.WriteString(wrapLine("      look at: ", h.Look, st.width))
			}
		}
	}
	if len(d.Histogram) > 0 {
		b.WriteString("  |diff| histogram (finite pairs, by decade):\n")
		for _, l := range d.Histogram {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	for _, l := range terminalHeat(d, st) {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	for _, n := range d.Notes {
		b.WriteString(wrapLine("  note: ", n, st.width))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// alignRows writes rows as right-aligned columns (the first left-aligned),
// each line indented.
func alignRows(rows [][]string, indent string) string {
	if len(rows) == 0 {
		return ""
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for j, c := range r {
			widths[j] = max(widths[j], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(indent)
		for j, c := range r {
			pad := strings.Repeat(" ", widths[j]-len([]rune(c)))
			if j == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// renderTensorsMarkdown writes the report as GitHub-flavoured Markdown.
func renderTensorsMarkdown(w io.Writer, v tensorsView) error {
	var b strings.Builder
	r := v.Report
	pass, text := v.verdict()
	fmt.Fprintf(&b, "### refcmp tensors: %s\n\n", mdVerdict(pass))
	fmt.Fprintf(&b, "**%s**\n\n", mdCell(text))
	fmt.Fprintf(&b, "- ref: %s (%s, %s)\n", mdCode(r.Ref.Label()), r.Ref.Format, plural(r.Ref.Tensors, "tensor", "tensors"))
	fmt.Fprintf(&b, "- ours: %s (%s, %s)\n", mdCode(r.Ours.Label()), r.Ours.Format, plural(r.Ours.Tensors, "tensor", "tensors"))
	if seq, spark, ok := v.sequenceLine(); ok {
		fmt.Fprintf(&b, "- %s %s\n", mdCell(seq), mdCode(spark))
		if ev := v.sequenceEvidence(); ev != "" {
			fmt.Fprintf(&b, "  %s\n", mdCell(ev))
		}
	}
	for _, n := range v.notes() {
		fmt.Fprintf(&b, "- note: %s\n", mdCell(n))
	}
	if len(r.Tensors) > 0 {
		s := v.table()
		writeMarkdownSection(&b, s, v.All)
	}
	if bl := r.Baseline; bl != nil {
		if s := baselineSection(bl, v.All, strconv.Itoa); len(s.Rows) > 0 {
			writeMarkdownSection(&b, s, v.All)
		}
	}
	for _, s := range v.onlySections() {
		writeMarkdownSection(&b, s, v.All)
	}
	writeMarkdownHints(&b, v.Report.NameHints, "")
	ds, more := v.details()
	writeMarkdownDetails(&b, "Failing pairs", ds, more, "more failing pair", "more failing pairs")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMarkdownDetails writes detail blocks under a heading, and says
// how many more --all would show.
func writeMarkdownDetails(b *strings.Builder, heading string, ds []detail, more int, one, many string) {
	if len(ds) == 0 {
		return
	}
	b.WriteString("\n#### " + heading + "\n")
	for _, d := range ds {
		writeMarkdownDetail(b, d)
	}
	if more > 0 {
		fmt.Fprintf(b, "\n… and %s (run with --all, or see --format json)\n", plural(more, one, many))
	}
}

// writeMarkdownDetail writes one failing pair (or changed tensor) as a
// collapsible block.
func writeMarkdownDetail(b *strings.Builder, d detail) {
	fmt.Fprintf(b, "\n<details><summary>%s</summary>\n\n", htmlEscape(d.Title))
	if len(d.Stats) > 0 {
		_ = writeMarkdownTable(b, d.Stats[0], d.Stats[1:])
		b.WriteString("\n")
	}
	for _, f := range d.Facts {
		fmt.Fprintf(b, "- %s\n", mdCell(f))
	}
	for _, h := range d.Hints {
		fmt.Fprintf(b, "- **hint %s**: %s", mdCell(h.Kind), mdCell(h.Summary))
		if h.Evidence != "" {
			fmt.Fprintf(b, " (evidence: %s)", mdCell(h.Evidence))
		}
		if h.Look != "" {
			fmt.Fprintf(b, "; look at: %s", mdCell(h.Look))
		}
		b.WriteString("\n")
	}
	for _, n := range d.Notes {
		fmt.Fprintf(b, "- note: %s\n", mdCell(n))
	}
	if len(d.Histogram) > 0 {
		b.WriteString("\nHistogram of " + mdCell("|diff|") + " (finite pairs, by decade):\n\n```text\n")
		for _, l := range d.Histogram {
			b.WriteString(l + "\n")
		}
		b.WriteString("```\n")
	}
	b.WriteString("\n</details>\n")
}

// htmlEscape escapes text for an HTML element.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
