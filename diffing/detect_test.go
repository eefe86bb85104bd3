package diffing

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// detectorInput builds the detectors' shared input for a pair, as
// diagnose does.
func detectorInput(t *testing.T, ref, ours tensor.Tensor) *diagInput {
	t.Helper()
	tol := DefaultTolerance(ref.DType, ours.DType)
	res := Result{Name: ref.Name, Shape: ref.Shape, RefDType: ref.DType, OursDType: ours.DType, Numel: ref.Numel(), Tolerance: tol}
	p, err := scan(ref, ours, res.Numel, ref.Shape, &res.Tolerance, 2, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	p.fill(&res, ref.Shape)
	atol, rtol := elementTol(&res)
	ax := newAxisStats(ref.Shape, atol, rtol)
	ax.finite = allFinite(&res)
	vis := []chunkVisitor{ax}
	var nf *nonfiniteCounts
	if res.Introduced > 0 {
		nf = &nonfiniteCounts{}
		vis = append(vis, nf)
	}
	if _, err := runProbe(ref, ours, &res, nil, nil, vis, nil, 2, probeMaxChunks); err != nil {
		t.Fatal(err)
	}
	ax.flush()
	return &diagInput{ref: ref, ours: ours, res: &res, p: &p, ax: ax, rr: newElemReader(ref), or: newElemReader(ours),
		atol: atol, rtol: rtol, noise: measureNoise(&res, &p).noise, nonfinite: nf}
}

func floats(t *testing.T, v any) []float64 {
	t.Helper()
	xs, ok := v.([]any)
	if !ok {
		t.Fatalf("not a list: %v", v)
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x.(float64)
	}
	return out
}

func closeVals(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, numpy has %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*max(1, math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %.9g, numpy %.9g", what, i, got[i], want[i])
		}
	}
}

// TestDetectorsAgainstNumpy checks the numbers behind the detectors with
// the ones make_planted.py computed with numpy: the fitted per-axis
// offsets and scales, the band offset, the axis, the permutation and the
// box of the mismatches.
func TestDetectorsAgainstNumpy(t *testing.T) {
	s := loadPlanted(t, filepath.Join("..", "testdata", "planted"))
	checked := 0
	for _, c := range s.Cases {
		if len(c.Facts) == 0 {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			in := detectorInput(t, s.pairs[c.Name+"/ref"], s.pairs[c.Name+"/ours"])
			one := func(d detector) finding {
				fs := d(in)
				if len(fs) == 0 {
					t.Fatalf("%s: detector found nothing", c.Name)
				}
				return fs[0]
			}
			f := c.Facts
			switch c.Name {
			case "qkv_no_bias", "fc_bias_twice":
				got := one(detectBroadcast)
				if got.axis != int(f["axis"].(float64)) {
					t.Fatalf("axis %d, want %v", got.axis, f["axis"])
				}
				closeVals(t, "offsets", got.offsets, floats(t, f["offsets"]), 1e-5)
			case "ln_no_weight":
				got := one(detectBroadcast)
				closeVals(t, "scales", got.scales, floats(t, f["scales"]), 1e-4)
			case "bn_eps", "bn_batch_stats":
				got := one(detectBroadcast)
				if got.axis != 1 {
					t.Fatalf("axis %d, want 1", got.axis)
				}
				closeVals(t, "scales", got.scales, floats(t, f["scales"]), 1e-6)
				closeVals(t, "offsets", got.offsets, floats(t, f["offsets"]), 1e-6)
			case "ln_unbiased":
				got := one(detectBroadcast)
				want := f["factor"].(float64)
				for i, k := range got.scales {
					if math.Abs(k-want) > 1e-5 {
						t.Fatalf("scale[%d] = %.9g, numpy factor %.9g", i, k, want)
					}
				}
			case "mask_off_by_one":
				if got := one(detectBand); got.band != int(f["band"].(float64)) {
					t.Fatalf("band %d, want %v", got.band, f["band"])
				}
			case "softmax_axis":
				if got := one(detectNormAxis); got.axis != int(f["ours_axis"].(float64)) {
					t.Fatalf("axis %d, want %v", got.axis, f["ours_axis"])
				}
			case "heads_reshape", "colmajor", "nhwc_as_nchw", "flatten_hwc":
				got := one(detectReorder)
				var fine []int64
				for _, x := range floats(t, f["fine_shape"]) {
					fine = append(fine, int64(x))
				}
				var perm []int
				for _, x := range floats(t, f["perm"]) {
					perm = append(perm, int(x))
				}
				// The same index map as numpy's, at every position.
				gm, wm := newReorderMap(got.fine, got.perm, in.ax.shape), newReorderMap(fine, perm, in.ax.shape)
				for j := range in.res.Numel {
					if a, b := gm.refIndex(j), wm.refIndex(j); a != b {
						t.Fatalf("found %v %v, numpy %v %v: position %d maps to %d, numpy to %d", got.fine, got.perm, fine, perm, j, a, b)
					}
				}
			case "pad_batch", "one_head", "one_channel":
				lo, hi := floats(t, f["box_lo"]), floats(t, f["box_hi"])
				for a := range lo {
					if float64(in.p.lo[a]) != lo[a] || float64(in.p.hi[a]) != hi[a] {
						t.Fatalf("box %v..%v, numpy %v..%v", in.p.lo, in.p.hi, lo, hi)
					}
				}
				one(detectRegion)
			default:
				t.Fatalf("facts of %s not checked", c.Name)
			}
			checked++
		})
	}
	if checked < 15 {
		t.Fatalf("%d cases cross-checked", checked)
	}
}

// TestAxisStatsChunked: the per-axis sums do not depend on how the data
// is cut into visits (rows split across blocks and chunks).
func TestAxisStatsChunked(t *testing.T) {
	shape := []int64{3, 5, 7}
	r := randVals(3, 105)
	o := mapVals(r, func(i int, x float64) float64 { return x + float64(i%7) })
	whole := newAxisStats(shape, 0, 0)
	whole.visit(0, r, o)
	whole.flush()
	parts := newAxisStats(shape, 0, 0)
	for _, cut := range [][2]int{{0, 4}, {4, 30}, {30, 31}, {31, 105}} {
		q := parts.fork().(*axisStats)
		q.visit(int64(cut[0]), r[cut[0]:cut[1]], o[cut[0]:cut[1]])
		parts.merge(q)
	}
	parts.flush()
	for a := range shape {
		for i := range whole.ax[a] {
			w, p := whole.ax[a][i], parts.ax[a][i]
			if w.n != p.n || math.Abs(w.sd-p.sd) > 1e-12 || math.Abs(w.sdd-p.sdd) > 1e-12 {
				t.Fatalf("axis %d index %d: %+v vs %+v", a, i, w, p)
			}
		}
	}
	f := whole.fit(2)
	if !slices.EqualFunc(f.offsets, []float64{0, 1, 2, 3, 4, 5, 6}, func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }) {
		t.Fatalf("offsets %v", f.offsets)
	}
}
