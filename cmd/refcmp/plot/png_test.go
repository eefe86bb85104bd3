package plot

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/patterns"
)

// pictureOf compares a pattern's pair under the dtype defaults and
// gathers its picture.
func pictureOf(t *testing.T, p patterns.Pair) (diffing.Result, diffing.Picture) {
	t.Helper()
	res, err := diffing.Compare(p.Ref, p.Ours, diffing.DefaultTolerance(p.Ref.DType, p.Ours.DType))
	if err != nil {
		t.Fatal(err)
	}
	res.Name = p.Ref.Name
	pic, err := diffing.Pictures(p.Ref, p.Ours, res, diffing.PictureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res, pic
}

// decode decodes a PNG, checks its size, and keeps a copy in
// $REFCMP_PLOT_OUT when set (to look at).
func decode(t *testing.T, name string, b []byte) image.Image {
	t.Helper()
	if dir := os.Getenv("REFCMP_PLOT_OUT"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if r := img.Bounds(); r.Dx() != Width || r.Dy() != Height {
		t.Fatalf("%s: %v, want %dx%d", name, r, Width, Height)
	}
	return img
}

// Pixel classes, by color alone: warm (red to yellow) marks a mismatch,
// cool (blue) within tolerance, green the tolerance or failing step.
func rgb(img image.Image, x, y int) (r, g, b int) {
	R, G, B, _ := img.At(x, y).RGBA()
	return int(R >> 8), int(G >> 8), int(B >> 8)
}

func warm(img image.Image, x, y int) bool {
	r, g, b := rgb(img, x, y)
	return r > 120 && r > b+80 && g <= r
}

func cool(img image.Image, x, y int) bool {
	r, g, b := rgb(img, x, y)
	return b > r+15 && b >= g && !(r > 120 && b < 200 && g < 100) // not the purple
}

func blue(img image.Image, x, y int) bool {
	r, _, b := rgb(img, x, y)
	return b > r+100
}

func green(img image.Image, x, y int) bool {
	r, g, b := rgb(img, x, y)
	return g > r+80 && g > b+40
}

// bbox is the bounding box of the pixels where in holds.
func bbox(img image.Image, in func(image.Image, int, int) bool) image.Rectangle {
	r := image.Rectangle{Min: image.Pt(1<<30, 1<<30)}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if in(img, x, y) {
				r.Min.X, r.Min.Y = min(r.Min.X, x), min(r.Min.Y, y)
				r.Max.X, r.Max.Y = max(r.Max.X, x+1), max(r.Max.Y, y+1)
			}
		}
	}
	return r
}

// heatCells reads a heatmap PNG back: the data area is where the cell
// colors are (warm or cool), split into rows x cols; a cell is hot when
// its center pixel is warm.
func heatCells(t *testing.T, img image.Image, rows, cols int) [][]bool {
	t.Helper()
	area := bbox(img, func(img image.Image, x, y int) bool { return warm(img, x, y) || cool(img, x, y) })
	if area.Dx() < Width/2 || area.Dy() < Height/2 {
		t.Fatalf("data area %v: too small", area)
	}
	out := make([][]bool, rows)
	for r := range rows {
		out[r] = make([]bool, cols)
		for c := range cols {
			x := area.Min.X + int((float64(c)+0.5)*float64(area.Dx())/float64(cols))
			y := area.Min.Y + int((float64(r)+0.5)*float64(area.Dy())/float64(rows))
			if !warm(img, x, y) && !cool(img, x, y) {
				t.Fatalf("cell (%d, %d) at (%d, %d): neither warm nor cool", r, c, x, y)
			}
			out[r][c] = warm(img, x, y)
		}
	}
	return out
}

func TestHeatmapPixels(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pair       patterns.Pair
		rows, cols int
		hot        func(r, c int) bool // where the pattern puts the error
	}{
		// The mask shifted by one: the cells (q, q+1), one diagonal.
		{"causal", patterns.CausalOffByOne(2, 2, 24), 24, 24, func(q, k int) bool { return k == q+1 }},
		// Head 5 of 8 scaled: rows are heads, one bright stripe.
		{"head", patterns.CorruptHead(2, 8, 16, 32, 5), 8, 32, func(h, _ int) bool { return h == 5 }},
		// Batch 2 of 3 with garbage from position 50: a block.
		{"padding", patterns.PaddingTail(3, 80, 16, 2, 50), 3, 80, func(b, p int) bool { return b == 2 && p >= 50 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, pic := pictureOf(t, tc.pair)
			b, err := Heatmap(pic)
			if err != nil {
				t.Fatal(err)
			}
			cells := heatCells(t, decode(t, "heat_"+tc.name+".png", b), tc.rows, tc.cols)
			for r := range tc.rows {
				for c := range tc.cols {
					if cells[r][c] != tc.hot(r, c) {
						t.Errorf("cell (%d, %d): hot %v, want %v", r, c, cells[r][c], !cells[r][c])
					}
				}
			}
		})
	}
}

// columns lists the runs of x (left to right) where some pixel of the
// column satisfies in: [start, end) each.
func columns(img image.Image, in func(image.Image, int, int) bool) [][2]int {
	var runs [][2]int
	b := img.Bounds()
	open := false
	for x := b.Min.X; x < b.Max.X; x++ {
		any := false
		for y := b.Min.Y; y < b.Max.Y && !any; y++ {
			any = in(img, x, y)
		}
		switch {
		case any && !open:
			runs = append(runs, [2]int{x, x + 1})
			open = true
		case any:
			runs[len(runs)-1][1] = x + 1
		default:
			open = false
		}
	}
	return runs
}

func TestHistogramPixels(t *testing.T) {
	// Causal off by one: exact matches (the zero bin, blue) left of the
	// tolerance lines, the mismatches of ~1e9 (two decades, red) right of
	// both.
	_, pic := pictureOf(t, patterns.CausalOffByOne(2, 2, 24))
	b, err := Histogram(pic)
	if err != nil {
		t.Fatal(err)
	}
	img := decode(t, "hist_causal.png", b)
	blues, reds, greens := columns(img, cool), columns(img, warm), columns(img, green)
	if len(blues) != 1 || len(reds) != 2 || len(greens) != 2 {
		t.Fatalf("bars: %d blue, %d red; %d green lines (want 1, 2, 2)", len(blues), len(reds), len(greens))
	}
	if !(blues[0][1] <= greens[0][0] && greens[1][1] <= reds[0][0]) {
		t.Errorf("blue %v, green %v, red %v: want blue < green < red", blues, greens, reds)
	}
	// The atol line (1e-5) and atol + rtol·1e9 (1300) are 8 decades
	// apart; the red bars (1e8, 1e9) one decade apart: the axis is log.
	decade := float64(reds[1][0] - reds[0][0])
	gap := float64(greens[1][0] - greens[0][0])
	if r := gap / decade; r < 8 || r > 8.5 {
		t.Errorf("tolerance lines %.1f decades apart, want log10(1300/1e-5) = 8.1", r)
	}
}

func TestScatterPixels(t *testing.T) {
	// Padding tail: ref is 0 where ours holds garbage, so the red points
	// stand on one vertical line, and the rest lie on y = x.
	_, pic := pictureOf(t, patterns.PaddingTail(3, 80, 16, 2, 50))
	b, err := Scatter(pic)
	if err != nil {
		t.Fatal(err)
	}
	img := decode(t, "scatter_padding.png", b)
	red, blu := bbox(img, warm), bbox(img, blue)
	if red.Dx() > 12 || red.Dy() < Height/2 {
		t.Errorf("red points span %v: want a tall thin column", red)
	}
	// Blue points: on a falling line in image coordinates (y grows
	// down), so x and y are strongly anti-correlated.
	var sx, sy, sxx, syy, sxy, n float64
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if blue(img, x, y) {
				fx, fy := float64(x), float64(y)
				sx, sy, sxx, syy, sxy, n = sx+fx, sy+fy, sxx+fx*fx, syy+fy*fy, sxy+fx*fy, n+1
			}
		}
	}
	corr := (sxy/n - sx/n*sy/n) / math.Sqrt((sxx/n-sx/n*sx/n)*(syy/n-sy/n*sy/n))
	if corr > -0.99 {
		t.Errorf("blue points correlation %.3f, want a line y = x", corr)
	}
	// The red column stands where ref = 0: the middle of the blue line.
	if mid := (blu.Min.X + blu.Max.X) / 2; red.Min.X > mid+8 || red.Max.X < mid-8 {
		t.Errorf("red column %d..%d, blue line's middle %d", red.Min.X, red.Max.X, mid)
	}
}

func TestSequencePixels(t *testing.T) {
	// A jump at layer 6 of 10: the green mark stands on the 7th blue dot,
	// the first high one.
	pairs := patterns.LayerJump(10, 16, 16, 6)
	var rs []diffing.Result
	for _, p := range pairs {
		r, _ := pictureOf(t, p)
		rs = append(rs, r)
	}
	c := diffing.Curve(rs)
	b, err := Sequence(c)
	if err != nil {
		t.Fatal(err)
	}
	img := decode(t, "sequence_jump.png", b)
	dots := columns(img, blue)
	if len(dots) != 10 {
		t.Fatalf("%d blue dots, want 10: %v", len(dots), dots)
	}
	lines := columns(img, green)
	if len(lines) != 1 {
		t.Fatalf("%d green lines, want 1", len(lines))
	}
	gx := (lines[0][0] + lines[0][1]) / 2
	nearest, best := -1, 1<<30
	for i, d := range dots {
		if dist := abs((d[0]+d[1])/2 - gx); dist < best {
			nearest, best = i, dist
		}
	}
	if nearest != 6 {
		t.Errorf("green line at x %d nearest dot %d, want 6", gx, nearest)
	}
	// Dots 6.. stand higher (smaller y) than every dot before.
	top := func(d [2]int) int {
		r := image.Rect(d[0], 0, d[1], Height)
		return bbox(img.(interface {
			image.Image
			SubImage(image.Rectangle) image.Image
		}).SubImage(r), blue).Min.Y
	}
	for i := 6; i < 10; i++ {
		for j := range 6 {
			if top(dots[i]) >= top(dots[j]) {
				t.Errorf("dot %d (y %d) not above dot %d (y %d)", i, top(dots[i]), j, top(dots[j]))
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestDrawEdgeCases(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, tc := range []struct {
		name      string
		ref, ours []float32
		tol       diffing.Tolerance
	}{
		{"ours all NaN", []float32{1, 2, 3, 4}, []float32{nan, nan, nan, nan}, diffing.Tolerance{Atol: 1e-5}},
		{"inf introduced", []float32{1, 2, 3, 4}, []float32{1, inf, 3, 4}, diffing.Tolerance{Atol: 1e-5, Rtol: 1e-3}},
		{"exact, one ulp", []float32{1, 2, 3, 4}, []float32{1, 2, 3, math.Nextafter32(4, 5)}, diffing.Tolerance{Exact: true}},
		{"constant", []float32{0, 0, 0, 0}, []float32{1, 1, 1, 1}, diffing.Tolerance{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, ours := patterns.F32("x", []int64{2, 2}, tc.ref), patterns.F32("x", []int64{2, 2}, tc.ours)
			res, err := diffing.Compare(ref, ours, tc.tol)
			if err != nil {
				t.Fatal(err)
			}
			pic, err := diffing.Pictures(ref, ours, res, diffing.PictureOptions{})
			if err != nil {
				t.Fatal(err)
			}
			figs, err := PairFigures(pic, "x")
			if err != nil {
				t.Fatal(err)
			}
			if len(figs) == 0 {
				t.Fatal("no figure")
			}
			for _, f := range figs {
				decode(t, f.File, f.PNG)
			}
			_ = Terminal(pic.Heat, 10, false)
			if _, err := Sequence(diffing.Curve([]diffing.Result{res, res})); err != nil {
				t.Fatal(err)
			}
		})
	}
}
