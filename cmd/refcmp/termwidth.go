package main

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// Fitting text output to the terminal: when stdout is a terminal, tables
// shorten their longest cells in the middle and hint lines wrap, to
// COLUMNS (when set) or the terminal's width. Files and pipes get the
// full lines, so saved output and goldens do not depend on a window.

// minFitWidth is the narrowest width fitted to; below it lines stay whole.
const minFitWidth = 40

// textWidth is the width to fit text to w, or 0 for no limit: w must be
// a terminal (a.terminal, in tests); COLUMNS wins over its size.
func textWidth(a *app, w io.Writer) int {
	isTerm := isTerminal
	if a.terminal != nil {
		isTerm = a.terminal
	}
	if !isTerm(w) {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(a.getenv("COLUMNS")))
	if err != nil || n <= 0 {
		n = 0
		if f, ok := w.(interface{ Fd() uintptr }); ok {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
				n = cols
			}
		}
	}
	if n < minFitWidth {
		return 0
	}
	return n
}

// fitTable fits a table of header and rows, drawn with one space of
// padding and a border per column, to width: it shortens the widest
// column's cells in the middle ("layers.0.…attn.q_proj"), none below 12
// characters, and when that is not enough leaves out the optional
// columns (by header), in the order given. width 0 changes nothing.
func fitTable(header []string, rows [][]string, width int, optional ...string) ([]string, [][]string) {
	if width <= 0 || len(header) == 0 {
		return header, rows
	}
	for {
		h, r, ok := shrinkTable(header, rows, width)
		if ok || len(optional) == 0 {
			return h, r
		}
		j := slicesIndex(header, optional[0])
		optional = optional[1:]
		if j < 0 {
			continue
		}
		header = append(append([]string{}, header[:j]...), header[j+1:]...)
		drop := make([][]string, len(rows))
		for i, row := range rows {
			if j < len(row) {
				row = append(append([]string{}, row[:j]...), row[j+1:]...)
			}
			drop[i] = row
		}
		rows = drop
	}
}

// shrinkTable shortens the widest columns toward width; ok reports
// that the table fits.
func shrinkTable(header []string, rows [][]string, width int) ([]string, [][]string, bool) {
	widths := make([]int, len(header))
	for j, h := range header {
		widths[j] = visibleLen(h)
	}
	for _, r := range rows {
		for j, c := range r {
			if j < len(widths) {
				widths[j] = max(widths[j], visibleLen(c))
			}
		}
	}
	total := func() int {
		t := 1
		for _, w := range widths {
			t += w + 3
		}
		return t
	}
	const minCol = 12
	for total() > width {
		j := 0
		for k := range widths {
			if widths[k] > widths[j] {
				j = k
			}
		}
		floor := max(minCol, visibleLen(header[j]))
		if widths[j] <= floor {
			break
		}
		widths[j] = max(floor, widths[j]-(total()-width))
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = make([]string, len(r))
		for j, c := range r {
			if j < len(widths) && visibleLen(c) > widths[j] && !strings.Contains(c, "\x1b") {
				c = shortenMiddle(c, widths[j])
			}
			out[i][j] = c
		}
	}
	return header, out, total() <= width
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// visibleLen counts runes, without ANSI color codes.
func visibleLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			if j := strings.IndexByte(s[i:], 'm'); j > 0 {
				i += j + 1
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// shortenMiddle keeps the start and the end of s with "…" between, n
// runes in all.
func shortenMiddle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 3 {
		return s
	}
	head := (n - 1) / 2
	tail := n - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// wrapLine writes prefix and text, wrapped at spaces to width (0: one
// line), continuation lines indented under the text.
func wrapLine(prefix, text string, width int) string {
	if width <= 0 || visibleLen(prefix)+visibleLen(text) <= width {
		return prefix + text + "\n"
	}
	indent := strings.Repeat(" ", visibleLen(prefix))
	var b strings.Builder
	line := prefix
	lineLen := visibleLen(prefix)
	first := true
	for _, word := range strings.Fields(text) {
		wl := visibleLen(word)
		if !first && lineLen+1+wl > width {
			b.WriteString(line + "\n")
			line, lineLen, first = indent, len(indent), true
		}
		if !first {
			line += " "
			lineLen++
		}
		line += word
		lineLen += wl
		first = false
	}
	b.WriteString(line + "\n")
	return b.String()
}
