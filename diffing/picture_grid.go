package diffing

import (
	"fmt"
	"math"
	"strings"
)

// HeatGrid is |d| max-pooled over two axes of a pair (the other axes
// reduced by max), so that one bad element stays visible: cell (r, c)
// holds the largest |d| over the elements whose RowAxis index is in
// [RowStart[r], RowStart[r+1]) and whose ColAxis index is in
// [ColStart[c], ColStart[c+1]), whatever their other indices. A
// non-finite pair that mismatches counts as +Inf.
type HeatGrid struct {
	Shape            []int64
	RowAxis, ColAxis int
	RowStart         []int64   // len Rows()+1, from 0 to Shape[RowAxis]
	ColStart         []int64   // len Cols()+1
	Max              []float64 // Rows()*Cols(), row-major
	Mis              []int64   // mismatching elements per cell
}

// Rows and Cols are the grid's size.
func (h *HeatGrid) Rows() int { return len(h.RowStart) - 1 }
func (h *HeatGrid) Cols() int { return len(h.ColStart) - 1 }

// At is cell (r, c)'s max |d|.
func (h *HeatGrid) At(r, c int) float64 { return h.Max[r*h.Cols()+c] }

// Hot is the number of cells holding a mismatch.
func (h *HeatGrid) Hot() int {
	n := 0
	for _, m := range h.Mis {
		n += int(b2i(m > 0))
	}
	return n
}

// Structured reports whether the mismatches have 2-D structure worth a
// picture: a grid of at least 2×2 cells of which some, but at most 90%,
// hold a mismatch (mismatches everywhere show no pattern).
func (h *HeatGrid) Structured() bool {
	if h == nil || h.Rows() < 2 || h.Cols() < 2 {
		return false
	}
	hot := h.Hot()
	return hot > 0 && float64(hot) <= 0.9*float64(len(h.Mis))
}

// Reduced lists the axes reduced by max (those other than RowAxis and
// ColAxis that are longer than 1).
func (h *HeatGrid) Reduced() []int {
	var out []int
	for a, d := range h.Shape {
		if a != h.RowAxis && a != h.ColAxis && d > 1 {
			out = append(out, a)
		}
	}
	return out
}

// Describe says what the grid shows, e.g. "rows: axis 2 (0..127),
// cols: axis 3 (0..127); max over axes 0, 1".
func (h *HeatGrid) Describe() string {
	s := fmt.Sprintf("rows: axis %d (0..%d), cols: axis %d (0..%d)", h.RowAxis, h.Shape[h.RowAxis]-1, h.ColAxis, h.Shape[h.ColAxis]-1)
	if red := h.Reduced(); len(red) > 0 {
		as := make([]string, len(red))
		for i, a := range red {
			as[i] = fmt.Sprint(a)
		}
		s += fmt.Sprintf("; max over axis %s", strings.Join(as, ", "))
	}
	return s
}

// Range is the index range [lo, hi] that row (or column) i covers.
func Range(starts []int64, i int) (lo, hi int64) { return starts[i], starts[i+1] - 1 }

// Pool coarsens the grid to at most rows × cols cells, by max (and sum
// of mismatches), so that it fits a smaller picture; the index ranges
// stay exact. It returns h itself when it already fits.
func (h *HeatGrid) Pool(rows, cols int) *HeatGrid {
	rows, cols = max(1, rows), max(1, cols)
	if h.Rows() <= rows && h.Cols() <= cols {
		return h
	}
	rmap, rstart := coarsen(h.RowStart, rows)
	cmap, cstart := coarsen(h.ColStart, cols)
	out := &HeatGrid{Shape: h.Shape, RowAxis: h.RowAxis, ColAxis: h.ColAxis, RowStart: rstart, ColStart: cstart}
	nr, nc := len(rstart)-1, len(cstart)-1
	out.Max = make([]float64, nr*nc)
	out.Mis = make([]int64, nr*nc)
	for r := range h.Rows() {
		for c := range h.Cols() {
			k := rmap[r]*nc + cmap[c]
			out.Max[k] = max(out.Max[k], h.At(r, c))
			out.Mis[k] += h.Mis[r*h.Cols()+c]
		}
	}
	return out
}

// coarsen groups the bins of starts into at most n nearly equal groups:
// each bin's group, and the groups' starts.
func coarsen(starts []int64, n int) ([]int, []int64) {
	k := len(starts) - 1
	g := min(k, n)
	m := make([]int, k)
	out := make([]int64, 0, g+1)
	for i := range k {
		m[i] = i * g / k
		if i == 0 || m[i] != m[i-1] {
			out = append(out, starts[i])
		}
	}
	return m, append(out, starts[k])
}

// MaxFinite is the largest finite cell value (0 if none).
func (h *HeatGrid) MaxFinite() float64 {
	m := 0.0
	for _, v := range h.Max {
		if !math.IsInf(v, 0) && v > m {
			m = v
		}
	}
	return m
}
