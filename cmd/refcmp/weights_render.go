package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/refcmp/refcmp/diffing/weights"
)

// The weights report as text (for people at a terminal) and as Markdown
// (for a pull-request comment or a CI step summary); the sections both
// are drawn from come from weights_view.go.

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

// renderWeightsMarkdown writes the weights report as Markdown.
func renderWeightsMarkdown(w io.Writer, v weightsView) error {
	var b strings.Builder
	pass, counts, sides := v.verdict()
	r := v.Report
	fmt.Fprintf(&b, "### refcmp weights: %s\n\n", mdVerdict(pass))
	fmt.Fprintf(&b, "**%s** (%s)\n\n", mdCell(counts), mdCell(sides))
	fmt.Fprintf(&b, "- expected: %s\n- loaded: %s\n", mdCode(r.Expected.Source), mdCode(r.Loaded.Source))
	if e := v.extras(); e != "" {
		fmt.Fprintf(&b, "- %s\n", mdCell(e))
	}
	for _, n := range v.notes() {
		fmt.Fprintf(&b, "- note: %s\n", mdCell(n))
	}
	for _, s := range v.sections() {
		writeMarkdownSection(&b, s, v.All)
	}
	writeMarkdownHints(&b, v.listedHints(), r.Fix)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMarkdownHints lists the hints, each with its fix as code after a
// dash ("... — fix: `--map ...`").
// allFixes, the report's fixes together, follows when several hints have
// one.
func writeMarkdownHints(b *strings.Builder, hints []weights.Hint, allFixes string) {
	if len(hints) == 0 {
		return
	}
	b.WriteString("\n#### Hints\n\n")
	fixes := 0
	for _, h := range hints {
		fmt.Fprintf(b, "- **%s**: %s", mdCell(h.Kind), mdCell(h.Message))
		if h.Fix != "" {
			fmt.Fprintf(b, " — fix: %s", mdCode(h.Fix))
			fixes++
		}
		b.WriteString("\n")
	}
	if fixes > 1 && allFixes != "" {
		fmt.Fprintf(b, "\nAll fixes: %s\n", mdCode(allFixes))
	}
}
