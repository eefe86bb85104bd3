package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/refcmp/refcmp/diffing/weights"
)

// Markdown renderers: for a pull-request comment or a CI step summary
// ($GITHUB_STEP_SUMMARY). Same content as the text output, as GitHub
// Flavored Markdown; long tables are cut at markdownMaxRows rows unless
// --all is given, so a comment stays under GitHub's size limit.

const markdownMaxRows = 50

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

// writeMarkdownSection writes one table under a heading.
func writeMarkdownSection(b *strings.Builder, s tableSection, all bool) {
	fmt.Fprintf(b, "\n#### %s: %s\n\n", mdCell(s.Title), s.countText())
	header := make([]string, len(s.Header))
	for i, h := range s.Header {
		header[i] = mdCell(h)
	}
	rows := s.Rows
	cut := 0
	if !all && len(rows) > markdownMaxRows {
		cut = len(rows) - markdownMaxRows
		rows = rows[:markdownMaxRows]
	}
	md := make([][]string, len(rows))
	for i, r := range rows {
		md[i] = make([]string, len(r))
		for j, c := range r {
			if s.Code[j] {
				md[i][j] = mdCode(c)
			} else {
				md[i][j] = mdCell(c)
			}
		}
	}
	_ = writeMarkdownTable(b, header, md)
	if cut > 0 {
		fmt.Fprintf(b, "\n… and %d more rows (run with --all, or see --format json)\n", cut)
	}
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
