package plot

import (
	"fmt"
	"math"
	"strings"

	"github.com/refcmp/refcmp/diffing"
)

// TermMaxRows bounds the rows of a terminal heatmap.
const TermMaxRows = 24

// Terminal shades of a cell: a mismatch by its worst |d| (darker is
// larger, on a log scale among the mismatching cells), within tolerance
// a dot, an exact match blank.
var termShades = []string{"░", "▒", "▓", "█"}

const (
	termWithin = "·"
	termExact  = " "
)

// Terminal draws h as text at most width columns wide: a line saying
// which axes it shows (and which it reduces by max), one line per row
// labelled with the first index it covers, and the first and last index
// of the columns under them. Shades only, unless color is set: then
// mismatching cells are red (the caller decides when color is wanted:
// a terminal, and never with NO_COLOR).
func Terminal(h *diffing.HeatGrid, width int, color bool) []string {
	if h == nil {
		return nil
	}
	lw := len(fmt.Sprint(h.RowStart[h.Rows()-1]))
	g := h.Pool(TermMaxRows, max(8, width-lw-3))
	lo, hi := math.Inf(1), math.Inf(-1)
	for k, v := range g.Max {
		if g.Mis[k] > 0 && v > 0 && !math.IsInf(v, 0) {
			lo, hi = min(lo, math.Log10(v)), max(hi, math.Log10(v))
		}
	}
	shade := func(k int) string {
		v := g.Max[k]
		switch {
		case g.Mis[k] == 0 && v == 0:
			return termExact
		case g.Mis[k] == 0:
			return termWithin
		case math.IsInf(v, 1) || hi <= lo:
			return termShades[len(termShades)-1]
		}
		i := int(math.Floor((math.Log10(v) - lo) / (hi - lo) * float64(len(termShades))))
		return termShades[min(max(i, 0), len(termShades)-1)]
	}
	out := []string{fmt.Sprintf("|diff| max-pooled, %s:", g.Describe())}
	for r := range g.Rows() {
		var b strings.Builder
		fmt.Fprintf(&b, "%*d │", lw, g.RowStart[r])
		for c := range g.Cols() {
			k := r*g.Cols() + c
			s := shade(k)
			if color && g.Mis[k] > 0 {
				s = "\x1b[31m" + s + "\x1b[0m"
			}
			b.WriteString(s)
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	// Under the columns: the first index at the left, the last at the
	// right edge.
	first, last := "0", fmt.Sprint(g.ColStart[g.Cols()]-1)
	pad := max(1, g.Cols()-len(first)-len(last))
	out = append(out, fmt.Sprintf("%*s └%s", lw, "", strings.Repeat("─", g.Cols())),
		fmt.Sprintf("%*s  %s%s%s", lw, "", first, strings.Repeat(" ", pad), last),
		fmt.Sprintf("%*s  %s mismatch (darker: larger |diff|), %s within tolerance, blank: equal", lw, "", strings.Join(termShades, ""), termWithin))
	return out
}
