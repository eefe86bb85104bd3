package main

import (
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/diffing/names"
)

// tableSection is one table of a report, format-neutral: the text and
// Markdown renderers both draw it. Cells are plain strings.
type tableSection struct {
	Title  string   // what the rows are, e.g. "Missing (expected, not loaded)"
	Count  int      // rows before folding
	Header []string // column titles
	Code   []bool   // per column: names and shapes, shown as code in Markdown
	Rows   [][]string
	// Optional columns (by header) may be left out to fit a terminal.
	Optional []string
}

// appendNames appends a one-column table of names, folded
// (layers.{0..31}.x), unless there are none.
func appendNames(out []tableSection, title string, ns []string) []tableSection {
	if len(ns) == 0 {
		return out
	}
	var rows [][]string
	for _, p := range names.FoldPatterns(ns) {
		rows = append(rows, []string{p})
	}
	return append(out, tableSection{Title: title, Count: len(ns), Header: []string{"name"}, Code: []bool{true}, Rows: rows})
}

// foldRows folds the rows of a table whose first cells are names. Rows
// fold together when their names differ only in numeric components (see
// names.Fold) and their other cells are equal, apart from numeric
// name components in the columns marked loose (names, hints); loose
// cells of a folded row are folded the same way:
//
//	model.layers.0.mlp.w  [4 4]  closest: model.layers.0.mlp.w1
//	model.layers.1.mlp.w  [4 4]  closest: model.layers.1.mlp.w1
//
// becomes
//
//	model.layers.{0,1}.mlp.w  [4 4]  closest: model.layers.{0,1}.mlp.w1
//
// Rows keep the order of their first member.
func foldRows(rows [][]string, loose []bool) [][]string {
	if len(rows) == 0 {
		return nil
	}
	ns := make([]string, len(rows))
	for i, r := range rows {
		ns[i] = r[0]
	}
	key := func(i int) string {
		var b strings.Builder
		for j, c := range rows[i][1:] {
			if loose[j+1] {
				c = numberless(c)
			}
			b.WriteString(c)
			b.WriteByte(0)
		}
		return b.String()
	}
	groups := names.FoldWith(ns, key)
	out := make([][]string, 0, len(groups))
	for _, g := range groups {
		row := make([]string, len(rows[g.Index[0]]))
		row[0] = g.Pattern
		for j := 1; j < len(row); j++ {
			cells := make([]string, len(g.Index))
			for k, i := range g.Index {
				cells[k] = rows[i][j]
			}
			row[j] = foldTexts(cells)
		}
		out = append(out, row)
	}
	return out
}

// numberless replaces the numeric dot-separated components of every
// word of s by '#', so texts that differ only in layer indices compare
// equal.
func numberless(s string) string {
	words := strings.Split(s, " ")
	for i, w := range words {
		parts := strings.Split(w, ".")
		for j, p := range parts {
			if isIndex(p) {
				parts[j] = "#"
			}
		}
		words[i] = strings.Join(parts, ".")
	}
	return strings.Join(words, " ")
}

// isIndex matches what names.Fold treats as a numeric component.
func isIndex(p string) bool {
	if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// foldTexts folds texts that differ only in numeric name components, word
// by word: each word position folds with names.Fold. When a position
// does not fold to one pattern (or the texts have different word counts)
// the first text stands for all, marked "(first of N)".
func foldTexts(texts []string) string {
	first := texts[0]
	same := true
	for _, t := range texts[1:] {
		if t != first {
			same = false
			break
		}
	}
	if same {
		return first
	}
	split := make([][]string, len(texts))
	for i, t := range texts {
		split[i] = strings.Split(t, " ")
		if len(split[i]) != len(split[0]) {
			return first + " (first of " + strconv.Itoa(len(texts)) + ")"
		}
	}
	words := make([]string, len(split[0]))
	col := make([]string, len(texts))
	for j := range words {
		for i := range texts {
			col[i] = split[i][j]
		}
		p := names.FoldPatterns(col)
		if len(p) != 1 {
			return first + " (first of " + strconv.Itoa(len(texts)) + ")"
		}
		words[j] = p[0]
	}
	return strings.Join(words, " ")
}

// dropEmptyColumns removes the columns (other than the first) that say
// nothing: all cells empty (a hint column when nothing needed a hint) or
// all unknown, "?" (shapes and dtypes of an index without its shards).
func (s *tableSection) dropEmptyColumns() {
	keep := []int{0}
	for j := 1; j < len(s.Header); j++ {
		for _, r := range s.Rows {
			if r[j] != "" && r[j] != "?" {
				keep = append(keep, j)
				break
			}
		}
	}
	if len(keep) == len(s.Header) {
		return
	}
	pick := func(in []string) []string {
		out := make([]string, len(keep))
		for i, j := range keep {
			out[i] = in[j]
		}
		return out
	}
	code := make([]bool, len(keep))
	for i, j := range keep {
		code[i] = s.Code[j]
	}
	s.Header, s.Code = pick(s.Header), code
	for i, r := range s.Rows {
		s.Rows[i] = pick(r)
	}
}

// countText gives the section's row count, and how many rows folding
// left when it folded any: "7, folded into 4 rows".
func (s tableSection) countText() string {
	c := strconv.Itoa(s.Count)
	if n := len(s.Rows); n != s.Count {
		c += ", folded into " + plural(n, "row", "rows")
	}
	return c
}
