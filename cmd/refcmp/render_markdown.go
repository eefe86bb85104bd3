package main

import (
	"fmt"
	"strings"
)

// Markdown output (each command's X_render.go, with writeMarkdownSection
// for its tables): for a pull-request comment or a CI step summary
// ($GITHUB_STEP_SUMMARY). Same content as the text output, as GitHub
// Flavored Markdown; long tables are cut at markdownMaxRows rows unless
// --all is given, so a comment stays under GitHub's size limit.

const markdownMaxRows = 50

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
