package diffing

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

func randVals(seed uint64, n int) []float64 {
	r := rand.New(rand.NewPCG(seed, 3))
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

// permute returns vals (C order, shape) permuted like torch's
// x.permute(p), and the new shape.
func permute(vals []float64, shape []int64, p []int) ([]float64, []int64) {
	ns := make([]int64, len(p))
	for i, a := range p {
		ns[i] = shape[a]
	}
	out := make([]float64, len(vals))
	ri := make([]int64, len(shape))
	for j := range out {
		oi := tensor.Unravel(int64(j), ns)
		for i, a := range p {
			ri[a] = oi[i]
		}
		out[j] = vals[ravel(ri, shape)]
	}
	return out, ns
}

func mapVals(v []float64, f func(i int, x float64) float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = f(i, x)
	}
	return out
}

// failingPair compares and returns the failing result.
func failingPair(t *testing.T, dt tensor.DType, rshape []int64, rv []float64, oshape []int64, ov []float64) Result {
	t.Helper()
	res := mustCompare(t, mkTensor(t, "ref", dt, rshape, rv), mkTensor(t, "ours", dt, oshape, ov), DefaultTolerance(dt, dt))
	if res.Pass {
		t.Fatalf("pair passes; want a failure")
	}
	return res
}

func wantTensorHint(t *testing.T, res Result, kind string, fragments ...string) TensorHint {
	t.Helper()
	for _, h := range res.Hints {
		if h.Kind != kind {
			continue
		}
		all := h.Summary + " | " + h.Evidence
		for _, f := range fragments {
			if !strings.Contains(all, f) {
				t.Errorf("hint %s lacks %q: %s", kind, f, all)
			}
		}
		return h
	}
	t.Errorf("no %q hint; hints: %+v", kind, res.Hints)
	return TensorHint{}
}

func noTensorHint(t *testing.T, res Result, kinds ...string) {
	t.Helper()
	for _, h := range res.Hints {
		for _, k := range kinds {
			if h.Kind == k {
				t.Errorf("unexpected hint %+v", h)
			}
		}
	}
}

const f32 = tensor.F32

func TestHintTransposed(t *testing.T) {
	for _, n := range []int64{8, 100} { // all positions; sampled
		shape := []int64{n, n}
		v := randVals(1, int(n*n))
		tr, _ := permute(v, shape, []int{1, 0})
		res := failingPair(t, f32, shape, v, shape, tr)
		wantTensorHint(t, res, TensorHintTransposed, "ours is ref transposed", "ours[i, j] ≈ ref[j, i]")
		noTensorHint(t, res, TensorHintShifted, TensorHintScaled)
	}
	// Shapes differ: [3 5] vs its transpose.
	v := randVals(2, 15)
	tr, ts := permute(v, []int64{3, 5}, []int{1, 0})
	res := mustCompare(t, mkTensor(t, "r", f32, []int64{3, 5}, v), mkTensor(t, "o", f32, ts, tr), DefaultTolerance(f32, f32))
	if !res.ShapeMismatch || res.Pass {
		t.Fatalf("shape mismatch not reported: %+v", res)
	}
	wantTensorHint(t, res, TensorHintTransposed, "15 of 15 sampled positions")
	// Shapes transposed, data merely reshaped: the reshape hint.
	res = mustCompare(t, mkTensor(t, "r", f32, []int64{3, 5}, v), mkTensor(t, "o", f32, ts, v), DefaultTolerance(f32, f32))
	wantTensorHint(t, res, TensorHintReshaped, "reshaped from [3 5] to [5 3]")
}

func TestHintPermuted(t *testing.T) {
	// Channels-first to channels-last, shapes differ.
	shape := []int64{2, 3, 4, 5}
	v := randVals(3, 120)
	nhwc, ns := permute(v, shape, []int{0, 2, 3, 1})
	res := mustCompare(t, mkTensor(t, "r", f32, shape, v), mkTensor(t, "o", f32, ns, nhwc), DefaultTolerance(f32, f32))
	wantTensorHint(t, res, TensorHintPermuted, "(0, 2, 3, 1)", "channels-first (ref) vs channels-last (ours)")
	// Same shape (C = H = W): found from the data alone.
	shape = []int64{2, 6, 6, 6}
	v = randVals(4, 432)
	nhwc, _ = permute(v, shape, []int{0, 2, 3, 1})
	res = failingPair(t, f32, shape, v, shape, nhwc)
	wantTensorHint(t, res, TensorHintPermuted, "channels-first (ref) vs channels-last (ours)")
	// Shape of a permutation, data not permuted at all.
	res = mustCompare(t, mkTensor(t, "r", f32, []int64{2, 3, 4}, randVals(5, 24)), mkTensor(t, "o", f32, []int64{4, 2, 3}, randVals(6, 24)), DefaultTolerance(f32, f32))
	wantTensorHint(t, res, TensorHintShape, "does not follow")
}

func TestHintReshapedAndResized(t *testing.T) {
	v := randVals(7, 24)
	res := mustCompare(t, mkTensor(t, "r", f32, []int64{4, 6}, v), mkTensor(t, "o", f32, []int64{4, 1, 6}, v), DefaultTolerance(f32, f32))
	wantTensorHint(t, res, TensorHintReshaped, "only size-1 axes differ")
	if res.Ref.Mean != res.Ours.Mean || res.Numel != 24 {
		t.Errorf("side stats of a shape mismatch: %+v %+v", res.Ref, res.Ours)
	}
	// Padded: ours [4 12] is ref [4 10] with two zero columns.
	v = randVals(8, 40)
	pad := make([]float64, 48)
	for i := 0; i < 4; i++ {
		copy(pad[i*12:], v[i*10:i*10+10])
	}
	res = mustCompare(t, mkTensor(t, "r", f32, []int64{4, 10}, v), mkTensor(t, "o", f32, []int64{4, 12}, pad), DefaultTolerance(f32, f32))
	wantTensorHint(t, res, TensorHintResized, "padded", "axis 1 (12 vs 10)")
	// Two spatial axes one longer (a max pool with ceil_mode): ours
	// [2 3 9 9] holds ref [2 3 8 8] in its first 8 rows and columns.
	v = randVals(9, 2*3*8*8)
	big := randVals(10, 2*3*9*9)
	for j := range big {
		idx := tensor.Unravel(int64(j), []int64{2, 3, 9, 9})
		if idx[2] < 8 && idx[3] < 8 {
			big[j] = v[ravel([]int64{idx[0], idx[1], idx[2], idx[3]}, []int64{2, 3, 8, 8})]
		}
	}
	res = mustCompare(t, mkTensor(t, "r", f32, []int64{2, 3, 8, 8}, v), mkTensor(t, "o", f32, []int64{2, 3, 9, 9}, big), DefaultTolerance(f32, f32))
	wantTensorHint(t, res, TensorHintResized, "axis 2 (9 vs 8) and padded (or ref cropped) along axis 3 (9 vs 8)", "ceil_mode")
}

func TestHintScaled(t *testing.T) {
	shape := []int64{16, 64}
	v := randVals(9, 1024)
	res := failingPair(t, f32, shape, v, shape, mapVals(v, func(_ int, x float64) float64 { return x / math.Sqrt(64) }))
	wantTensorHint(t, res, TensorHintScaled, "0.125 × ref", "1/sqrt(64), 64 a dimension of the shape", "least-squares k = 0.125")
	// Head size not in the shape.
	shape = []int64{8, 512}
	v = randVals(10, 4096)
	res = failingPair(t, f32, shape, v, shape, mapVals(v, func(_ int, x float64) float64 { return x * math.Sqrt(128) }))
	wantTensorHint(t, res, TensorHintScaled, "sqrt(128), a common attention head size")
	// Unbiased vs biased variance over a dimension of 10.
	shape = []int64{10, 30}
	v = mapVals(randVals(11, 300), func(_ int, x float64) float64 { return x*x + 1 })
	res = failingPair(t, f32, shape, v, shape, mapVals(v, func(_ int, x float64) float64 { return x * 10 / 9 }))
	wantTensorHint(t, res, TensorHintScaled, "n/(n-1) with n = 10")
	// An arbitrary factor is reported by its value.
	res = failingPair(t, f32, shape, v, shape, mapVals(v, func(_ int, x float64) float64 { return x * 1.37 }))
	wantTensorHint(t, res, TensorHintScaled, "ours ≈ 1.37 × ref")
}

func TestHintSignFlipOffset(t *testing.T) {
	shape := []int64{32, 32}
	v := randVals(12, 1024)
	res := failingPair(t, f32, shape, v, shape, mapVals(v, func(_ int, x float64) float64 { return -x }))
	wantTensorHint(t, res, TensorHintSignFlip, "ours ≈ -ref", "0 of 1024 elements mismatch")
	noTensorHint(t, res, TensorHintScaled)
	res = failingPair(t, f32, shape, v, shape, mapVals(v, func(_ int, x float64) float64 { return x + 0.25 }))
	wantTensorHint(t, res, TensorHintOffset, "ours ≈ ref + 0.25", "0 of 1024 elements mismatch")
}

func TestHintShifted(t *testing.T) {
	shape := []int64{20, 50}
	v := randVals(13, 1000)
	// ours[i, j] = ref[i, j-1]: a shift by +1 along axis 1.
	sh := mapVals(v, func(i int, _ float64) float64 {
		if i%50 == 0 {
			return 0
		}
		return v[i-1]
	})
	res := failingPair(t, f32, shape, v, shape, sh)
	wantTensorHint(t, res, TensorHintShifted, "shifted by +1 along axis 1", "ref[…, i-1, …]")
	// Along axis 0, the other way: ours[i] = ref[i+1].
	sh = mapVals(v, func(i int, _ float64) float64 {
		if i+50 >= 1000 {
			return 0
		}
		return v[i+50]
	})
	res = failingPair(t, f32, shape, v, shape, sh)
	wantTensorHint(t, res, TensorHintShifted, "shifted by -1 along axis 0")
}

func TestHintConfined(t *testing.T) {
	shape := []int64{12, 4, 16}
	v := randVals(14, 768)
	ours := mapVals(v, func(i int, x float64) float64 {
		if c := i / 64; c >= 5 && c <= 7 && i%3 == 0 {
			return x + 1
		}
		return x
	})
	res := failingPair(t, f32, shape, v, shape, ours)
	wantTensorHint(t, res, TensorHintConfined, "indices 5..7 of axis 0 (size 12)")
	// A single channel of the last axis.
	ours = mapVals(v, func(i int, x float64) float64 {
		if i%16 == 9 {
			return x * 1.5
		}
		return x
	})
	res = failingPair(t, f32, shape, v, shape, ours)
	wantTensorHint(t, res, TensorHintConfined, "index 9 of axis 2 (size 16)")

	// Half of an axis is still a confinement; mismatches spread over
	// nearly all of it (once: indices 12228..67064443 of 67108864) are not.
	v = randVals(22, 1000)
	perturb := func(lo, hi int) []float64 {
		return mapVals(v, func(i int, x float64) float64 {
			if i >= lo && i <= hi && i%7 == lo%7 {
				return x + 1
			}
			return x
		})
	}
	res = failingPair(t, f32, []int64{1000}, v, []int64{1000}, perturb(250, 749))
	wantTensorHint(t, res, TensorHintConfined, "indices 250..747 of axis 0 (size 1000)")
	res = failingPair(t, f32, []int64{1000}, v, []int64{1000}, perturb(3, 996))
	noTensorHint(t, res, TensorHintConfined)
	res = failingPair(t, f32, shape, randVals(14, 768), shape, mapVals(randVals(14, 768), func(i int, x float64) float64 {
		if i/64 >= 1 && i%5 == 0 { // axis 0 indices 1..11 of 12, every other axis whole
			return x + 1
		}
		return x
	}))
	noTensorHint(t, res, TensorHintConfined)
}

func TestHintZerosConstant(t *testing.T) {
	shape := []int64{64}
	v := randVals(15, 64)
	res := failingPair(t, f32, shape, v, shape, make([]float64, 64))
	wantTensorHint(t, res, TensorHintZeros, "ours is all zeros", "min = max = 0 over 64 elements")
	noTensorHint(t, res, TensorHintScaled, TensorHintOffset)
	res = failingPair(t, f32, shape, v, shape, mapVals(v, func(int, float64) float64 { return 0.5 }))
	wantTensorHint(t, res, TensorHintConstant, "ours is constant 0.5")
}

func TestHintRounding(t *testing.T) {
	shape := []int64{50, 40}
	v := randVals(16, 2000)
	for _, c := range []struct {
		dt   tensor.DType
		name string
	}{{tensor.BF16, "BF16"}, {tensor.F16, "F16"}} {
		f, _ := formatOf(c.dt)
		res := failingPair(t, f32, shape, v, shape, mapVals(v, func(_ int, x float64) float64 { return f.round(x) }))
		wantTensorHint(t, res, TensorHintRounding, "ours holds "+c.name+" values", "mean 0.2", c.name+"'s default tolerance", ": it passes")
	}
}

// TestHintRoundingComputed: ours computed in a narrower format and then
// carried in F32 (so its values are not in the format) is named; a per-row
// or a uniform scale of a few percent, whose |d|/ulp in F8_E4M3 lies in
// the same window, is not: rounding leaves no share of Σ d² to a factor
// of ref and reaches half an ulp.
func TestHintRoundingComputed(t *testing.T) {
	shape := []int64{48, 512}
	v := randVals(17, 48*512)
	f16, _ := formatOf(tensor.F16)
	res := failingPair(t, f32, shape, v, shape, mapVals(v, func(_ int, x float64) float64 {
		return float64(float32(f16.round(x)) + float32(x)*0x1p-20)
	}))
	wantTensorHint(t, res, TensorHintRounding, "looks computed in F16")
	for _, c := range []struct {
		name  string
		scale func(i int) float64
	}{
		{"per row 1.2%", func(i int) float64 { return 1.011 + 0.002*float64(i/512%3)/2 }},
		{"uniform 3%", func(int) float64 { return 1.03 }},
		{"uniform 1.5%", func(int) float64 { return 1.015 }},
	} {
		res := failingPair(t, f32, shape, v, shape, mapVals(v, func(i int, x float64) float64 { return x * c.scale(i) }))
		noTensorHint(t, res, TensorHintRounding)
	}
}

func TestHintTolerance(t *testing.T) {
	shape := []int64{40, 40}
	v := mapVals(randVals(17, 1600), func(_ int, x float64) float64 { return 100 * x })
	// Noise level (20 ε relative at most): the tolerance that passes it.
	ours := mapVals(v, func(i int, x float64) float64 { return float64(float32(x + 20*0x1p-23*x*math.Sin(float64(i)))) })
	res := failingPair(t, f32, shape, v, shape, ours)
	if res.Hints[0].Kind != TensorHintNoise {
		t.Fatalf("primary hint %s, want noise: %v", res.Hints[0].Kind, res.Hints)
	}
	h := wantTensorHint(t, res, TensorHintTolerance, "--atol", "--rtol")
	// The suggested tolerances pass.
	for _, flag := range []string{"--atol ", "--rtol "} {
		i := strings.Index(h.Summary, flag)
		f := strings.Fields(h.Summary[i+len(flag):])[0]
		x, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("%s: %v", h.Summary, err)
		}
		tol := DefaultTolerance(f32, f32)
		if flag == "--atol " {
			tol.Atol = x
		} else {
			tol.Rtol = x
		}
		if r := mustCompare(t, mkTensor(t, "r", f32, shape, v), mkTensor(t, "o", f32, shape, ours), tol); !r.Pass {
			t.Errorf("%s%s does not pass: %d mismatched", flag, f, r.Mismatched)
		}
	}
}

// TestHintToleranceNotForBugs: above noise level, no tolerance is offered.
func TestHintToleranceNotForBugs(t *testing.T) {
	shape := []int64{40, 40}
	v := randVals(17, 1600)
	res := failingPair(t, f32, shape, v, shape, mapVals(v, func(i int, x float64) float64 { return x + 3e-4*math.Sin(float64(i)) }))
	noTensorHint(t, res, TensorHintTolerance, TensorHintNoise, TensorHintRounding)
	wantTensorHint(t, res, TensorHintUnexplained, "above float noise")
}

func TestHistogram(t *testing.T) {
	ref := []float64{1, 1, 1, 1, 1, 1}
	ours := []float64{1, 1 + 0x1p-9, 1 + 0x1p-8, 1.5, 3, math.NaN()}
	res := failingPair(t, tensor.F64, []int64{6}, ref, []int64{6}, ours)
	want := []HistBin{{0, 0, 1}, {1e-3, 1e-2, 2}, {1e-2, 1e-1, 0}, {1e-1, 1, 1}, {1, 10, 1}}
	if len(res.Histogram) != len(want) {
		t.Fatalf("histogram %+v, want %+v", res.Histogram, want)
	}
	for i := range want {
		if res.Histogram[i] != want[i] {
			t.Errorf("bin %d = %+v, want %+v", i, res.Histogram[i], want[i])
		}
	}
	// Passing pairs get neither hints nor a histogram.
	pass := mustCompare(t, mkTensor(t, "r", f32, []int64{2}, []float64{1, 2}), mkTensor(t, "o", f32, []int64{2}, []float64{1, 2}), Tolerance{})
	if len(pass.Hints) != 0 || pass.Histogram != nil {
		t.Errorf("passing pair: hints %+v histogram %+v", pass.Hints, pass.Histogram)
	}
}

func TestDecade(t *testing.T) {
	for _, c := range []struct {
		x float64
		k int
	}{{1, 0}, {9.999, 0}, {10, 1}, {1000, 3}, {999.9999999, 2}, {1e-3, -3}, {1e-300, -300}, {5e-324, -324}, {1.7e308, 308}, {0.3, -1}} {
		if got := decade(c.x); got != c.k {
			t.Errorf("decade(%g) = %d, want %d", c.x, got, c.k)
		}
	}
}

func TestNameFactor(t *testing.T) {
	for _, c := range []struct {
		k     float64
		shape []int64
		name  string
	}{
		{0.125, []int64{8, 64}, "1/sqrt(64), 64 a dimension of the shape, or 1/8, 8 a dimension of the shape"},
		{-0.125, []int64{8, 64}, "-1/sqrt(64), 64 a dimension of the shape, or -1/8, 8 a dimension of the shape"},
		{0.125, []int64{1, 8, 32, 32}, "1/8, 8 a dimension of the shape, or 1/sqrt(64), a common attention head size"},
		{-1, nil, "-1"},
		{0.5, []int64{4}, "1/2"},
		{1.4142, nil, "sqrt(2)"},
		{100.0 / 99, []int64{99, 7}, "n/(n-1) with n = 99 (unbiased vs biased variance)"},
	} {
		got, ok := nameFactor(c.k, c.shape)
		if !ok || got.name != c.name {
			t.Errorf("nameFactor(%v, %v) = %q %v, want %q", c.k, c.shape, got.name, ok, c.name)
		}
	}
	if _, ok := nameFactor(1.37, []int64{3}); ok {
		t.Errorf("1.37 named")
	}
}

func TestDecadesFast(t *testing.T) {
	d := newDecades()
	r := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 200000; i++ {
		x := math.Float64frombits(r.Uint64() &^ (1 << 63))
		if x-x != 0 || x == 0 {
			continue
		}
		if a, b := d.binOf(x), 1+decade(x)-histMinDecade; a != b {
			t.Fatalf("decades.binOf(%g) = %d, want %d", x, a, b)
		}
	}
	if d.binOf(0) != 0 {
		t.Errorf("binOf(0) = %d", d.binOf(0))
	}
	for k := -320; k <= 308; k++ {
		for _, x := range []float64{pow10(k), math.Nextafter(pow10(k), 0), math.Nextafter(pow10(k), math.Inf(1))} {
			if x > 0 && d.binOf(x) != 1+decade(x)-histMinDecade {
				t.Fatalf("decades.binOf(%g) = %d, decade = %d", x, d.binOf(x), decade(x))
			}
		}
	}
}

func TestMismatchBox(t *testing.T) {
	b := newMismatchBox([]int64{4, 5, 6}, 7, 10)
	if !slices.Equal(b.chunkLo, []int64{0, 1, 0}) || !slices.Equal(b.chunk, []int64{0, 2, 5}) {
		t.Errorf("chunk box %v..%v", b.chunkLo, b.chunk)
	}
	b = newMismatchBox([]int64{4, 5, 6}, 28, 4) // [0 4 4] .. [1 0 1]: wraps on axes 1 and 2
	if !slices.Equal(b.chunkLo, []int64{0, 0, 0}) || !slices.Equal(b.chunk, []int64{1, 4, 5}) {
		t.Errorf("chunk box %v..%v", b.chunkLo, b.chunk)
	}
	// Across chunks: a few columns of a 300×1000 tensor (5 chunks).
	shape := []int64{300, 1000}
	v := randVals(21, 300_000)
	ours := mapVals(v, func(i int, x float64) float64 {
		if row, col := i/1000, i%1000; row >= 10 && row <= 290 && col >= 500 && col <= 502 {
			return x + 1
		}
		return x
	})
	res := failingPair(t, f32, shape, v, shape, ours)
	wantTensorHint(t, res, TensorHintConfined, "indices 500..502 of axis 1 (size 1000)", "[10..290, 500..502]", "843 of its 843")
	// Everything mismatching: no confinement.
	res = failingPair(t, f32, shape, v, shape, mapVals(v, func(_ int, x float64) float64 { return x*1.01 + 0.5 }))
	noTensorHint(t, res, TensorHintConfined)
}

func TestProbeSampled(t *testing.T) {
	shape := []int64{10 * chunkElems}
	v := randVals(22, int(shape[0]))
	ref := mkTensor(t, "r", f32, shape, v)
	ours := mkTensor(t, "o", f32, shape, mapVals(v, func(_ int, x float64) float64 { return x * 0.5 }))
	res := mustCompare(t, ref, ours, DefaultTolerance(f32, f32))
	full, err := runProbe(ref, ours, &res, []model{{kind: TensorHintScaled, k: 0.5}}, nil, nil, nil, 2, 100)
	if err != nil {
		t.Fatal(err)
	}
	part, err := runProbe(ref, ours, &res, []model{{kind: TensorHintScaled, k: 0.5}}, nil, nil, nil, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if full.elems != shape[0] || part.elems != 3*chunkElems || part.pairs != part.elems || full.pairs != full.elems {
		t.Errorf("probed %d/%d and %d/%d elements", full.elems, full.pairs, part.elems, part.pairs)
	}
	if full.models[0].mis != 0 || part.models[0].mis != 0 {
		t.Errorf("model mismatches %d %d", full.models[0].mis, part.models[0].mis)
	}
	if cs := probeChunks(10*chunkElems, 3); !slices.Equal(cs, []int{0, 3, 6}) {
		t.Errorf("probeChunks = %v", cs)
	}
}

// TestLowFormatHolds: the bit test agrees with rounding to the format,
// on the formats' own numbers, their neighbours, and edge values.
func TestLowFormatHolds(t *testing.T) {
	xs := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.0 / 3, 65504, 65505, 65520, 448, 464, 57344,
		math.MaxFloat32, math.SmallestNonzeroFloat32, math.SmallestNonzeroFloat64, 5.960464477539063e-08,
		2.9802322387695312e-08, 1e-300, 1e300, 3.0517578125e-05, 0.015625, 0.0078125, 0.001953125}
	for _, v := range randVals(9, 2000) {
		xs = append(xs, v, v*1e-6, v*1e4, float64(float32(v)))
	}
	for _, lf := range lowerFormats(tensor.F64, tensor.F64) {
		for _, x := range xs {
			for _, y := range []float64{x, lf.f.round(x), math.Nextafter(lf.f.round(x), math.Inf(1))} {
				if y-y != 0 {
					continue
				}
				if got, want := lf.holds(y), lf.f.round(y) == y; got != want {
					t.Fatalf("%s: holds(%g) = %v, round says %v", lf.f.dtype, y, got, want)
				}
			}
		}
	}
}

// TestHintScaledZeroTolerance: under --atol 0 --rtol 0 a scale is still
// named (the model is judged at the dtype's rtol: ours is rounded, the
// model exact), and a noise pair still gets no model.
func TestHintScaledZeroTolerance(t *testing.T) {
	shape := []int64{16, 64}
	v := randVals(19, 1024)
	ref := mkTensor(t, "r", f32, shape, v)
	strict := Tolerance{Check: CheckAllClose}
	res := mustCompare(t, ref, mkTensor(t, "o", f32, shape, mapVals(v, func(_ int, x float64) float64 { return x * math.Sqrt(64.0/63) })), strict)
	wantTensorHint(t, res, TensorHintScaled, "sqrt(n/(n-1)) with n = 64", "the dtypes' default rtol")
	res = mustCompare(t, ref, mkTensor(t, "o", f32, shape, f32Noise(v)), strict)
	if len(res.Hints) == 0 || res.Hints[0].Kind != TensorHintNoise {
		t.Fatalf("noise under a zero tolerance: %+v", res.Hints)
	}
}
