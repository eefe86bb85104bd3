package diffing_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/patterns"
	"github.com/refcmp/refcmp/tensor"
)

func pictureOf(t *testing.T, p patterns.Pair, workers int) (diffing.Result, diffing.Picture) {
	t.Helper()
	res, err := diffing.Compare(p.Ref, p.Ours, diffing.DefaultTolerance(p.Ref.DType, p.Ours.DType))
	if err != nil {
		t.Fatal(err)
	}
	pic, err := diffing.Pictures(p.Ref, p.Ours, res, diffing.PictureOptions{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return res, pic
}

// hotCells lists the cells of h holding a mismatch.
func hotCells(h *diffing.HeatGrid) map[[2]int]bool {
	out := map[[2]int]bool{}
	for r := range h.Rows() {
		for c := range h.Cols() {
			if h.Mis[r*h.Cols()+c] > 0 {
				out[[2]int{r, c}] = true
			}
		}
	}
	return out
}

func TestPictureCausalOffByOne(t *testing.T) {
	// 4 batches, 2 heads, 40 positions: the grid is 40 x 40 over the
	// last two axes, and exactly the cells (q, q+1) are hot.
	res, pic := pictureOf(t, patterns.CausalOffByOne(4, 2, 40), 2)
	h := pic.Heat
	if h == nil || h.RowAxis != 2 || h.ColAxis != 3 || h.Rows() != 40 || h.Cols() != 40 {
		t.Fatalf("grid %+v, want axes 2, 3 at 40 x 40", h)
	}
	hot := hotCells(h)
	for q := range 40 {
		for k := range 40 {
			if want := k == q+1; hot[[2]int{q, k}] != want {
				t.Errorf("cell (%d, %d) hot = %v, want %v", q, k, !want, want)
			}
		}
	}
	if !h.Structured() {
		t.Error("a diagonal is 2-D structure")
	}
	if pic.Mismatched != res.Mismatched || h.Hot() != 39 {
		t.Errorf("mismatched %d (compare %d), hot %d", pic.Mismatched, res.Mismatched, h.Hot())
	}
	if got := h.Describe(); got != "rows: axis 2 (0..39), cols: axis 3 (0..39); max over axis 0, 1" {
		t.Errorf("Describe = %q", got)
	}
}

func TestPictureCorruptHead(t *testing.T) {
	// Head 5 of 8 is wrong: over the axes (head, d) one row is hot.
	_, pic := pictureOf(t, patterns.CorruptHead(2, 8, 16, 32, 5), 1)
	h := pic.Heat
	if h.RowAxis != 1 {
		t.Fatalf("rows on axis %d, want 1 (heads): %s", h.RowAxis, h.Describe())
	}
	for c := range h.Cols() {
		for r := range h.Rows() {
			if got := h.Mis[r*h.Cols()+c] > 0; got != (r == 5) {
				t.Fatalf("cell (%d, %d) hot = %v", r, c, got)
			}
		}
	}
}

func TestPicturePaddingTail(t *testing.T) {
	// Batch 2 of 3 has garbage from position 50 of 80: over (batch,
	// position) the hot cells are row 2, columns 50..79.
	_, pic := pictureOf(t, patterns.PaddingTail(3, 80, 16, 2, 50), 3)
	h := pic.Heat
	if h.RowAxis != 0 || h.ColAxis != 1 {
		t.Fatalf("%s, want rows axis 0, cols axis 1", h.Describe())
	}
	for r := range h.Rows() {
		for c := range h.Cols() {
			want := r == 2 && c >= 50
			if got := h.Mis[r*h.Cols()+c] > 0; got != want {
				t.Fatalf("cell (%d, %d) hot = %v, want %v", r, c, got, want)
			}
		}
	}
}

func TestPicturePoolingKeepsOneElement(t *testing.T) {
	// One bad element in a 1000 x 3000 tensor: the 64 x 128 grid still
	// shows it, in the cell whose ranges hold its index.
	const rows, cols = 1000, 3000
	ref := make([]float32, rows*cols)
	ours := make([]float32, rows*cols)
	ours[777*cols+2345] = 1
	p := patterns.Pair{Ref: patterns.F32("x", []int64{rows, cols}, ref), Ours: patterns.F32("x", []int64{rows, cols}, ours)}
	_, pic := pictureOf(t, p, 2)
	h := pic.Heat
	if h.Rows() != diffing.HeatMaxRows || h.Cols() != diffing.HeatMaxCols {
		t.Fatalf("grid %d x %d", h.Rows(), h.Cols())
	}
	hot := hotCells(h)
	if len(hot) != 1 {
		t.Fatalf("hot cells %v", hot)
	}
	for rc := range hot {
		rlo, rhi := diffing.Range(h.RowStart, rc[0])
		clo, chi := diffing.Range(h.ColStart, rc[1])
		if rlo > 777 || rhi < 777 || clo > 2345 || chi < 2345 {
			t.Errorf("hot cell covers rows %d..%d, cols %d..%d; want 777, 2345", rlo, rhi, clo, chi)
		}
		if h.At(rc[0], rc[1]) != 1 {
			t.Errorf("cell max %v, want 1", h.At(rc[0], rc[1]))
		}
	}
	// Pooling again for a terminal keeps it, with exact ranges.
	small := h.Pool(10, 30)
	if small.Rows() != 10 || small.Cols() != 30 || small.Hot() != 1 || small.RowStart[10] != rows || small.ColStart[30] != cols {
		t.Fatalf("pooled %d x %d, hot %d, ends %d %d", small.Rows(), small.Cols(), small.Hot(), small.RowStart[10], small.ColStart[30])
	}
	if h.Structured() != true {
		t.Error("one hot cell of many is structure")
	}
	if len(pic.Sample) != diffing.SampleSize {
		t.Errorf("sample of %d, want %d", len(pic.Sample), diffing.SampleSize)
	}
	found := false
	for _, s := range pic.Sample {
		found = found || s.Mismatch && s.Offset == 777*cols+2345
	}
	if !found {
		t.Error("the one mismatch is not in the sample")
	}
}

func TestPictureHistogramAgreesWithCompare(t *testing.T) {
	pairs := patterns.LayerJump(6, 30, 40, 3)
	res, pic := pictureOf(t, pairs[4], 2)
	var n, mis int64
	for _, b := range pic.Hist {
		n += b.Count
		mis += b.Mismatched
	}
	if n != res.FinitePairs || mis != res.Mismatched {
		t.Errorf("histogram holds %d pairs, %d mismatching; compare says %d, %d", n, mis, res.FinitePairs, res.Mismatched)
	}
	// Same bins as the compare pass's histogram of a failing pair.
	if len(res.Histogram) != len(pic.Hist) {
		t.Fatalf("bins %d vs compare's %d", len(pic.Hist), len(res.Histogram))
	}
	for i, b := range res.Histogram {
		if float64(b.Lo) != pic.Hist[i].Lo || b.Count != pic.Hist[i].Count {
			t.Errorf("bin %d: %v %d vs compare %v %d", i, pic.Hist[i].Lo, pic.Hist[i].Count, b.Lo, b.Count)
		}
	}
	if math.Abs(pic.RefAbsMax-max(-float64(res.Ref.Min), float64(res.Ref.Max))) != 0 {
		t.Errorf("RefAbsMax %v", pic.RefAbsMax)
	}
}

func TestPictureDeterministic(t *testing.T) {
	// Over 4 chunks of 65536 elements: the same picture whatever the
	// number of workers.
	p := patterns.CorruptHead(2, 4, 128, 256, 1)
	_, one := pictureOf(t, p, 1)
	for _, w := range []int{2, 3, 8} {
		if _, got := pictureOf(t, p, w); !reflect.DeepEqual(one, got) {
			t.Errorf("workers %d: picture differs from 1 worker's", w)
		}
	}
}

func TestPictureShapes(t *testing.T) {
	// 1-D: no grid; different shapes: an error naming the tensor.
	v := []float32{1, 2, 3}
	a, b := patterns.F32("v", []int64{3}, v), patterns.F32("v", []int64{3}, []float32{1, 2, 4})
	_, pic := pictureOf(t, patterns.Pair{Ref: a, Ours: b}, 1)
	if pic.Heat != nil || pic.Mismatched != 1 {
		t.Errorf("1-D picture: heat %v, mismatched %d", pic.Heat, pic.Mismatched)
	}
	c := patterns.F32("v", []int64{1, 3}, v)
	if _, err := diffing.Pictures(a, c, diffing.Result{}, diffing.PictureOptions{}); err == nil {
		t.Error("shapes [3] and [1 3]: no error")
	}
}

func TestCurve(t *testing.T) {
	pairs := patterns.LayerJump(8, 10, 10, 5)
	var rs []diffing.Result
	for _, p := range pairs {
		r, err := diffing.Compare(p.Ref, p.Ours, diffing.DefaultTolerance(p.Ref.DType, p.Ours.DType))
		if err != nil {
			t.Fatal(err)
		}
		r.Name = p.Ref.Name
		rs = append(rs, r)
	}
	c := diffing.Curve(rs)
	if c.FirstFailure != 5 || c.Names[5] != "layers.5.out" {
		t.Fatalf("first failure %d", c.FirstFailure)
	}
	for i := range rs {
		if (c.MaxAbs[i] > c.Allowed[i]) != (i >= 5) {
			t.Errorf("step %d: max %v allowed %v", i, c.MaxAbs[i], c.Allowed[i])
		}
	}
}

// FuzzPictures feeds arbitrary shapes and bytes (any float32 bits, NaN
// and Inf included): no panic, and the aggregates add up.
func FuzzPictures(f *testing.F) {
	f.Add([]byte{1, 2, 3}, make([]byte, 48), make([]byte, 48))
	f.Add([]byte{4, 1, 3}, []byte("0123456789abcdef0123456789abcdef0123456789abcdef"), make([]byte, 48))
	f.Fuzz(func(t *testing.T, dims, a, b []byte) {
		if len(dims) > 7 {
			dims = dims[:7]
		}
		shape := []int64{}
		n := int64(1)
		for _, d := range dims {
			shape = append(shape, int64(d%9))
			n *= int64(d % 9)
		}
		if n > 1<<16 {
			return
		}
		mk := func(src []byte) tensor.Tensor {
			data := make([]byte, 4*n)
			copy(data, src)
			return tensor.Tensor{Name: "x", DType: tensor.F32, Shape: shape, Data: tensor.MemData(data)}
		}
		ref, ours := mk(a), mk(b)
		res, err := diffing.Compare(ref, ours, diffing.DefaultTolerance(ref.DType, ours.DType))
		if err != nil {
			t.Fatal(err)
		}
		pic, err := diffing.Pictures(ref, ours, res, diffing.PictureOptions{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, bin := range pic.Hist {
			sum += bin.Count
		}
		if pic.Elems != n || sum+pic.NonFinite != n || pic.Mismatched != res.Mismatched || len(pic.Sample) > diffing.SampleSize {
			t.Fatalf("elems %d of %d, hist %d + %d non-finite, mismatched %d vs %d, sample %d", pic.Elems, n, sum, pic.NonFinite, pic.Mismatched, res.Mismatched, len(pic.Sample))
		}
		if h := pic.Heat; h != nil {
			var mis int64
			for _, m := range h.Mis {
				mis += m
			}
			if mis != res.Mismatched {
				t.Fatalf("grid counts %d mismatches, compare %d", mis, res.Mismatched)
			}
		}
	})
}
