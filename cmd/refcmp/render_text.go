package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/refcmp/refcmp/diffing/weights"
)

// Text renderers: for people at a terminal. Verdict and counts first,
// then one table per kind of difference, hints beside the rows they
// explain. The text is not a stable format; scripts read --format json.

// renderWeightsText writes the weights report as text.
func renderWeightsText(w io.Writer, v weightsView, st textStyle) error {
	var b strings.Builder
	pass, counts, sides := v.verdict()
	fmt.Fprintf(&b, "%s %s (%s)\n", st.verdict(pass), counts, sides)
	if e := v.extras(); e != "" {
		fmt.Fprintf(&b, "%s\n", e)
	}
	for _, n := range v.notes() {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	for _, s := range v.sections() {
		if err := writeTextSection(w, s, st); err != nil {
			return err
		}
	}
	return writeTextHints(w, v.listedHints(), v.Report.Fix, st)
}

// writeTextSection writes a blank line, the section title with its row
// count, and the table. The last column, when titled "hint", is painted.
func writeTextSection(w io.Writer, s tableSection, st textStyle) error {
	title := s.Title + ": " + s.countText()
	if _, err := fmt.Fprintf(w, "\n%s\n", st.head(title)); err != nil {
		return err
	}
	rows := s.Rows
	if last := len(s.Header) - 1; st.color && s.Header[last] == "hint" {
		rows = make([][]string, len(s.Rows))
		for i, r := range s.Rows {
			r = append([]string(nil), r...)
			r[last] = st.hint(r[last])
			rows[i] = r
		}
	}
	h, rows := fitTable(s.Header, rows, st.width, s.Optional...)
	return writeTable(w, h, rows)
}

// writeTextHints lists the hints that are not already beside a row,
// and the fix of each hint that has one.
// allFixes, the report's fixes together, follows when several hints have
// one.
func writeTextHints(w io.Writer, hints []weights.Hint, allFixes string, st textStyle) error {
	if len(hints) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", st.head("Hints:"))
	fixes := 0
	for _, h := range hints {
		b.WriteString(wrapLine("  - "+h.Kind+": ", st.hint(h.Message), st.width))
		if h.Fix != "" {
			fmt.Fprintf(&b, "    fix: %s\n", h.Fix)
			fixes++
		}
	}
	if fixes > 1 && allFixes != "" {
		fmt.Fprintf(&b, "\nAll fixes: %s\n", allFixes)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
