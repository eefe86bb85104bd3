package main

import (
	"fmt"
	"io"
)

// Text output, for people at a terminal: each command's X_render.go
// writes the verdict and counts first, then one table section per kind
// of difference (writeTextSection), hints beside the rows they explain.
// The text is not a stable format; scripts read --format json.

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
