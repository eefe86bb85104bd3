package plot

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/refcmp/refcmp/internal/patterns"
)

// termCells reads a terminal heatmap back: the cell characters of each
// row, after the "│" that ends its label.
func termCells(t *testing.T, lines []string) [][]string {
	t.Helper()
	var rows [][]string
	for _, l := range lines {
		i := strings.Index(l, "│")
		if i < 0 {
			continue
		}
		var cells []string
		for _, r := range l[i+len("│"):] {
			cells = append(cells, string(r))
		}
		rows = append(rows, cells)
	}
	return rows
}

func isShade(s string) bool { return strings.Contains("░▒▓█", s) }

func TestTerminalCausal(t *testing.T) {
	_, pic := pictureOf(t, patterns.CausalOffByOne(2, 2, 24))
	lines := Terminal(pic.Heat, 80, false)
	if want := "|diff| max-pooled, rows: axis 2 (0..23), cols: axis 3 (0..23); max over axis 0, 1:"; lines[0] != want {
		t.Errorf("header %q, want %q", lines[0], want)
	}
	rows := termCells(t, lines)
	if len(rows) != 24 {
		t.Fatalf("%d rows, want 24:\n%s", len(rows), strings.Join(lines, "\n"))
	}
	for q, cells := range rows {
		for k := range 24 {
			hot := k < len(cells) && isShade(cells[k])
			if hot != (k == q+1) {
				t.Errorf("row %d col %d: hot %v\n%s", q, k, hot, strings.Join(lines, "\n"))
			}
		}
		if !strings.HasPrefix(lines[q+1], fmt.Sprintf("%2d │", q)) {
			t.Errorf("row %d label: %q", q, lines[q+1])
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "\x1b") {
			t.Fatalf("escape codes without color: %q", l)
		}
	}
	colored := Terminal(pic.Heat, 80, true)
	if !strings.Contains(colored[2], "\x1b[31m") {
		t.Errorf("color asked, none: %q", colored[2])
	}
}

func TestTerminalPoolsToWidth(t *testing.T) {
	// Padding tail [3, 200, 4], batch 1 bad from 120: at width 60 the
	// columns pool, the hot cells stay in row 1 from the column holding
	// 120 on, and every line fits.
	_, pic := pictureOf(t, patterns.PaddingTail(3, 200, 4, 1, 120))
	lines := Terminal(pic.Heat, 60, false)
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 60+20 && !strings.HasPrefix(l, "|diff|") && !strings.Contains(l, "mismatch (") {
			t.Errorf("line of %d runes: %q", n, l)
		}
	}
	rows := termCells(t, lines)
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	g := pic.Heat.Pool(TermMaxRows, 60-1-3)
	for b, cells := range rows {
		for c := range g.Cols() {
			lo, hi := g.ColStart[c], g.ColStart[c+1]-1
			want := b == 1 && hi >= 120
			hot := c < len(cells) && isShade(cells[c])
			if hot != want {
				t.Errorf("batch %d, cols %d..%d: hot %v, want %v", b, lo, hi, hot, want)
			}
		}
		if len(cells) > 60 {
			t.Errorf("row of %d cells at width 60", len(cells))
		}
	}
	if last := lines[len(lines)-2]; !strings.HasSuffix(last, "199") {
		t.Errorf("column labels %q: want the last index 199", last)
	}
}
