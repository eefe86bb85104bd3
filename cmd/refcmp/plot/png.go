// Package plot draws refcmp's pictures of differences: PNG plots (with
// gonum.org/v1/plot, rendered through vgimg with its built-in Liberation
// fonts, so no system font is needed), one self-contained HTML report,
// and a heatmap for the terminal. It draws diffing's plain aggregates
// (diffing.Picture, diffing.SequenceCurve) and computes nothing new.
//
// Colors carry one meaning throughout: warm (red to yellow) is a
// mismatch, cool (blue) is within tolerance, neutral grey is ink.
package plot

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/tensor"
)

// Size of every PNG, in pixels (drawn at 72 dpi: one point, one pixel).
const (
	Width  = 640
	Height = 480
)

// The colors of the pictures.
var (
	// Mismatch is the color of mismatching elements and bins.
	colMismatch = color.RGBA{R: 220, G: 30, B: 30, A: 255}
	// Within is the color of elements within tolerance.
	colWithin = color.RGBA{R: 40, G: 90, B: 200, A: 255}
	// colTol marks the tolerance and the first failing step.
	colTol = color.RGBA{R: 0, G: 150, B: 60, A: 255}
	// On the sequence plot: NMSE, the allowed |d|, the lines joining the
	// steps' dots.
	colNMSE    = color.RGBA{R: 150, G: 60, B: 190, A: 255}
	colAllowed = color.RGBA{R: 255, G: 140, B: 0, A: 255}
	colJoin    = color.RGBA{R: 170, G: 170, B: 170, A: 255}
)

// ramp is a palette running linearly from one color to another.
type ramp struct {
	from, to color.RGBA
	n        int
}

func (r ramp) Colors() []color.Color {
	out := make([]color.Color, r.n)
	lerp := func(a, b uint8, t float64) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	for i := range out {
		t := float64(i) / float64(max(1, r.n-1))
		out[i] = color.RGBA{R: lerp(r.from.R, r.to.R, t), G: lerp(r.from.G, r.to.G, t), B: lerp(r.from.B, r.to.B, t), A: 255}
	}
	return out
}

// Heat ramps: within tolerance from pale to deep blue, mismatches from
// dark red to yellow, both by log10 |d|.
var (
	coolRamp = ramp{from: color.RGBA{R: 225, G: 232, B: 250, A: 255}, to: color.RGBA{R: 40, G: 70, B: 170, A: 255}, n: 64}
	warmRamp = ramp{from: color.RGBA{R: 150, G: 0, B: 0, A: 255}, to: color.RGBA{R: 255, G: 235, B: 0, A: 255}, n: 64}
)

// render draws p to PNG bytes. gonum/plot panics on some degenerate
// input; that becomes an error naming the picture.
func render(p *gplot.Plot, what string) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing %s: %v", what, r)
		}
	}()
	c := vgimg.NewWith(vgimg.UseWH(Width, Height), vgimg.UseDPI(72))
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("drawing %s: %w", what, err)
	}
	return b.Bytes(), nil
}

// heatGrid shows a HeatGrid to plotter.HeatMap: column c, row r at
// (c, r), the value log10 |d| where the cell's mismatch state is show's
// (NaN elsewhere, drawn transparent).
type heatGrid struct {
	h    *diffing.HeatGrid
	show bool    // mismatching cells (else the others)
	zero float64 // log10 of the value drawn for |d| = 0
}

func (g heatGrid) Dims() (int, int) { return g.h.Cols(), g.h.Rows() }
func (g heatGrid) X(c int) float64  { return float64(c) }
func (g heatGrid) Y(r int) float64  { return float64(r) }
func (g heatGrid) Z(c, r int) float64 {
	k := r*g.h.Cols() + c
	if (g.h.Mis[k] > 0) != g.show {
		return math.NaN()
	}
	v := g.h.Max[k]
	switch {
	case v == 0:
		return g.zero
	case math.IsInf(v, 1):
		return math.MaxFloat64
	}
	return math.Log10(v)
}

// indexTicks labels a grid axis with the index each labelled cell
// starts at: about n labels, the first and last cells included.
func indexTicks(starts []int64, n int) gplot.ConstantTicks {
	cells := len(starts) - 1
	step := max(1, (cells+n-1)/n)
	var ts gplot.ConstantTicks
	for c := 0; c < cells; c += step {
		ts = append(ts, gplot.Tick{Value: float64(c), Label: fmt.Sprint(starts[c])})
	}
	if last := cells - 1; last%step != 0 {
		ts = append(ts, gplot.Tick{Value: float64(last), Label: fmt.Sprint(starts[last])})
	}
	return ts
}

// decadeTicks marks a log axis at powers of ten, labelled 1e-5, 1e0...
// (every few decades when there are many).
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []gplot.Tick {
	k0, k1 := int(math.Ceil(math.Log10(lo)-1e-9)), int(math.Floor(math.Log10(hi)+1e-9))
	step := max(1, (k1-k0+9)/10)
	var ts []gplot.Tick
	for k := k0; k <= k1; k++ {
		t := gplot.Tick{Value: math.Pow(10, float64(k))}
		if (k-k0)%step == 0 {
			t.Label = fmt.Sprintf("1e%d", k)
		}
		ts = append(ts, t)
	}
	return ts
}

// Heatmap draws the pooled |d| grid of a pair: warm cells hold a
// mismatch (their worst |d|, dark red to yellow by log10), cool cells
// are within tolerance, row 0 on top. The axes are labelled with the
// indices the cells start at; the reduced axes are in the title.
func Heatmap(pic diffing.Picture) ([]byte, error) {
	h := pic.Heat
	if h == nil {
		return nil, fmt.Errorf("tensor %q: no heatmap (fewer than two axes longer than 1)", pic.Name)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range h.Max {
		if v > 0 && !math.IsInf(v, 0) {
			lv := math.Log10(v)
			lo, hi = min(lo, lv), max(hi, lv)
		}
	}
	if lo > hi { // every cell 0 or non-finite
		lo, hi = 0, 0
	}
	zero := lo - 1
	p := gplot.New()
	p.Title.Text = fmt.Sprintf("|ours - ref| of %s %s, max-pooled\n%s", pic.Name, tensor.FormatShape(pic.Shape), h.Describe())
	p.X.Label.Text = fmt.Sprintf("axis %d index", h.ColAxis)
	p.Y.Label.Text = fmt.Sprintf("axis %d index", h.RowAxis)
	p.Y.Scale = gplot.InvertedScale{Normalizer: gplot.LinearScale{}}
	p.X.Tick.Marker = indexTicks(h.ColStart, 8)
	p.Y.Tick.Marker = indexTicks(h.RowStart, 8)
	for _, show := range []bool{false, true} {
		pal := coolRamp
		if show {
			pal = warmRamp
		}
		hm := plotter.NewHeatMap(heatGrid{h: h, show: show, zero: zero}, pal)
		hm.Min, hm.Max = zero, max(hi, zero+1e-9)
		hm.NaN = color.Transparent
		hm.Overflow = pal.Colors()[pal.n-1] // +Inf: a mismatching NaN/Inf
		p.Add(hm)
	}
	p.Legend.Top = true
	p.X.Padding, p.Y.Padding = 0, 0
	return render(p, "heatmap of "+pic.Name)
}

// histX is the x of each histogram bin: its decade k (the bar spans
// [k, k+1) on the axis), and for the bin of zeros a place two decades
// left of everything else (the lowest decade and the atol line).
func histX(pic diffing.Picture) (xs []float64, lowest float64) {
	lowest = math.Inf(1)
	for _, b := range pic.Hist {
		if b.Lo > 0 {
			lowest = min(lowest, math.Round(math.Log10(b.Lo)))
		}
	}
	if pic.Atol > 0 && !pic.Exact {
		lowest = min(lowest, math.Floor(math.Log10(pic.Atol)))
	}
	if math.IsInf(lowest, 1) {
		lowest = 0
	}
	for _, b := range pic.Hist {
		if b.Lo == 0 {
			xs = append(xs, lowest-2)
		} else {
			xs = append(xs, math.Round(math.Log10(b.Lo)))
		}
	}
	return xs, lowest
}

// Histogram draws |d| by decade, counts on a log axis: one bar per
// decade, cool for the elements within tolerance, warm for the
// mismatching ones (side by side), with the tolerance marked by a
// vertical green line: atol, and atol + rtol·max|ref| when rtol > 0.
func Histogram(pic diffing.Picture) ([]byte, error) {
	if len(pic.Hist) == 0 {
		return nil, fmt.Errorf("tensor %q: no finite pair to draw a histogram of", pic.Name)
	}
	xs, lowest := histX(pic)
	p := gplot.New()
	p.Title.Text = fmt.Sprintf("|ours - ref| of %s by decade (%d finite pairs, %d mismatching)", pic.Name, pic.Elems-pic.NonFinite, pic.Mismatched)
	p.X.Label.Text = "|ours - ref| (log; a bar spans its decade)"
	p.Y.Label.Text = "elements (log)"
	p.Y.Scale = gplot.LogScale{}
	p.Y.Tick.Marker = decadeTicks{}
	var ticks gplot.ConstantTicks
	var ymax float64 = 1
	bar := func(x0, x1, y float64, c color.Color) error {
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0.5}, {X: x1, Y: 0.5}, {X: x1, Y: y}, {X: x0, Y: y}})
		if err != nil {
			return err
		}
		poly.Color = c
		poly.LineStyle.Width = 0
		p.Add(poly)
		return nil
	}
	for i, b := range pic.Hist {
		x := xs[i]
		if b.Lo == 0 {
			ticks = append(ticks, gplot.Tick{Value: x + 0.5, Label: "0"})
		}
		ymax = max(ymax, float64(b.Count))
		if within := b.Count - b.Mismatched; within > 0 {
			if err := bar(x+0.05, x+0.5, float64(within), colWithin); err != nil {
				return nil, err
			}
		}
		if b.Mismatched > 0 {
			if err := bar(x+0.5, x+0.95, float64(b.Mismatched), colMismatch); err != nil {
				return nil, err
			}
		}
	}
	p.Y.Min, p.Y.Max = 0.5, ymax*2
	var marks []string
	mark := func(v float64, what string) error {
		if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil
		}
		x := math.Log10(v)
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0.5}, {X: x, Y: ymax * 2}})
		if err != nil {
			return err
		}
		l.Color, l.Width = colTol, vg.Points(2)
		p.Add(l)
		marks = append(marks, fmt.Sprintf("%s = %s", what, diffing.FormatStat(v)))
		return nil
	}
	switch {
	case pic.Exact:
		marks = append(marks, "exact: any difference fails")
	default:
		if err := mark(pic.Atol, "atol"); err != nil {
			return nil, err
		}
		if pic.Rtol > 0 {
			if err := mark(pic.Atol+pic.Rtol*pic.RefAbsMax, "atol + rtol·max|ref|"); err != nil {
				return nil, err
			}
		}
	}
	p.X.Label.Text += "\ngreen: " + joinOr(marks, "no tolerance line")
	p.X.Min = min(xs[0], lowest) - 0.2
	p.X.Max = max(xs[len(xs)-1]+1, xLine(pic.Atol+pic.Rtol*pic.RefAbsMax, xs[0])+0.5) + 0.2
	// A label at every decade boundary (every few when there are many).
	k0, k1 := int(lowest), int(math.Ceil(p.X.Max))
	step := max(1, (k1-k0+11)/12)
	for k := k0; k <= k1; k += step {
		ticks = append(ticks, gplot.Tick{Value: float64(k), Label: fmt.Sprintf("1e%d", k)})
	}
	p.X.Tick.Marker = ticks
	return render(p, "histogram of "+pic.Name)
}

// xLine is the x of a tolerance line at v, or def when v draws none.
func xLine(v, def float64) float64 {
	if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return def
	}
	return math.Log10(v)
}

func joinOr(xs []string, none string) string {
	if len(xs) == 0 {
		return none
	}
	s := xs[0]
	for _, x := range xs[1:] {
		s += ", " + x
	}
	return s
}

// Scatter draws the sampled pairs, ours against ref, with the line
// y = x: cool points within tolerance, warm points mismatching.
// Non-finite pairs are left out (the title counts them).
func Scatter(pic diffing.Picture) ([]byte, error) {
	var in, out plotter.XYs
	skipped := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range pic.Sample {
		if math.IsNaN(s.Ref) || math.IsInf(s.Ref, 0) || math.IsNaN(s.Ours) || math.IsInf(s.Ours, 0) {
			skipped++
			continue
		}
		pt := plotter.XY{X: s.Ref, Y: s.Ours}
		lo, hi = min(lo, s.Ref, s.Ours), max(hi, s.Ref, s.Ours)
		if s.Mismatch {
			out = append(out, pt)
		} else {
			in = append(in, pt)
		}
	}
	if len(in)+len(out) == 0 {
		return nil, fmt.Errorf("tensor %q: no finite sampled pair to draw", pic.Name)
	}
	if lo == hi {
		lo, hi = lo-1, hi+1
	}
	p := gplot.New()
	p.Title.Text = fmt.Sprintf("ours against ref, %s: %d sampled pairs (%d mismatching)", pic.Name, len(in)+len(out), len(out))
	if skipped > 0 {
		p.Title.Text += fmt.Sprintf("; %d non-finite left out", skipped)
	}
	p.X.Label.Text = "ref"
	p.Y.Label.Text = "ours\ngreen: y = x"
	diag, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	if err != nil {
		return nil, err
	}
	diag.Color, diag.Width = colTol, vg.Points(1)
	p.Add(diag)
	for _, set := range []struct {
		xy plotter.XYs
		c  color.Color
	}{{in, colWithin}, {out, colMismatch}} {
		if len(set.xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(set.xy)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = set.c
		sc.GlyphStyle.Radius = vg.Points(2)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
	}
	return render(p, "scatter of "+pic.Name)
}

// Sequence draws max|ours - ref| (blue dots) and NMSE (purple dots) per
// step on a log axis, joined by grey lines, the largest |d| each step's
// rule allows (orange dashes), and the first failing step as a vertical
// green line.
func Sequence(c diffing.SequenceCurve) ([]byte, error) {
	n := len(c.MaxAbs)
	if n == 0 {
		return nil, fmt.Errorf("no steps to draw")
	}
	// Values <= 0 cannot go on a log axis: exact matches are drawn at a
	// floor three decades under the smallest positive value.
	pos := math.Inf(1)
	top := math.Inf(-1)
	for i := range n {
		for _, v := range []float64{c.MaxAbs[i], c.NMSE[i], c.Allowed[i]} {
			if v > 0 && !math.IsInf(v, 0) {
				pos, top = min(pos, v), max(top, v)
			}
		}
	}
	if math.IsInf(pos, 1) {
		pos, top = 1, 1
	}
	floor := pos / 1000
	series := func(vs []float64) plotter.XYs {
		var xy plotter.XYs
		for i, v := range vs {
			switch {
			case math.IsNaN(v):
				continue
			case math.IsInf(v, 1):
				v = top * 10
			case v <= 0:
				v = floor
			}
			xy = append(xy, plotter.XY{X: float64(i), Y: v})
		}
		return xy
	}
	p := gplot.New()
	p.Title.Text = fmt.Sprintf("error along the sequence (%d steps)", n)
	if f := c.FirstFailure; f >= 0 {
		p.Title.Text += fmt.Sprintf(": first failure at step %d (%s)", f, c.Names[f])
	}
	what, nmse := c.What, ", purple: NMSE"
	if what == "" {
		what = "max|ours - ref|"
	}
	if len(series(c.NMSE)) == 0 {
		nmse = ""
	}
	p.X.Label.Text = "step (execution order)\nblue: " + what + nmse + ", orange: allowed |d|, green: first failing step"
	p.Y.Scale = gplot.LogScale{}
	p.Y.Tick.Marker = decadeTicks{}
	p.Y.Min, p.Y.Max = floor/2, top*20
	if allowed := series(c.Allowed); len(allowed) > 0 {
		l, err := plotter.NewLine(allowed)
		if err != nil {
			return nil, err
		}
		l.Color, l.Dashes, l.Width = colAllowed, []vg.Length{vg.Points(6), vg.Points(4)}, vg.Points(1.5)
		p.Add(l)
	}
	if f := c.FirstFailure; f >= 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: float64(f), Y: floor / 2}, {X: float64(f), Y: top * 20}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = colTol, vg.Points(2)
		p.Add(l)
	}
	for _, s := range []struct {
		xy plotter.XYs
		c  color.Color
	}{{series(c.NMSE), colNMSE}, {series(c.MaxAbs), colWithin}} {
		if len(s.xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.xy)
		if err != nil {
			return nil, err
		}
		l.Color = colJoin
		pts.Color, pts.Shape, pts.Radius = s.c, draw.CircleGlyph{}, vg.Points(3)
		p.Add(l, pts)
	}
	var ticks gplot.ConstantTicks
	step := max(1, (n+11)/12)
	for i := 0; i < n; i += step {
		ticks = append(ticks, gplot.Tick{Value: float64(i), Label: fmt.Sprint(i)})
	}
	p.X.Tick.Marker = ticks
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	return render(p, "sequence plot")
}
