package diffing

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

type myFloat float32
type myInt int16
type myUint uint64

func TestDTypeOf(t *testing.T) {
	for _, tc := range []struct {
		got, want tensor.DType
	}{
		{DTypeOf[float32](), tensor.F32}, {DTypeOf[float64](), tensor.F64},
		{DTypeOf[int8](), tensor.I8}, {DTypeOf[int16](), tensor.I16},
		{DTypeOf[int32](), tensor.I32}, {DTypeOf[int64](), tensor.I64},
		{DTypeOf[uint8](), tensor.U8}, {DTypeOf[uint16](), tensor.U16},
		{DTypeOf[uint32](), tensor.U32}, {DTypeOf[uint64](), tensor.U64},
		{DTypeOf[myFloat](), tensor.F32}, {DTypeOf[myInt](), tensor.I16}, {DTypeOf[myUint](), tensor.U64},
	} {
		if tc.got != tc.want {
			t.Errorf("DTypeOf = %s, want %s", tc.got, tc.want)
		}
	}
}

// SliceTensor round-trips every Number type through the decoders,
// extremes included.
func TestSliceTensorRoundTrip(t *testing.T) {
	check := func(name string, tt tensor.Tensor, want []float64) {
		t.Helper()
		got, err := Float64s(tt)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, func(a, b float64) bool { return a == b || (a != a && b != b) }) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	check("f32", SliceTensor("x", []float32{1.5, -0, float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32}, nil),
		[]float64{1.5, 0, math.Inf(-1), math.NaN(), math.MaxFloat32})
	check("f64", SliceTensor("x", []float64{math.SmallestNonzeroFloat64, -2}, nil), []float64{math.SmallestNonzeroFloat64, -2})
	check("i8", SliceTensor("x", []int8{-128, 127}, nil), []float64{-128, 127})
	check("u8", SliceTensor("x", []uint8{0, 255}, nil), []float64{0, 255})
	check("i16", SliceTensor("x", []int16{-32768, 7}, nil), []float64{-32768, 7})
	check("u16", SliceTensor("x", []uint16{65535}, nil), []float64{65535})
	check("i32", SliceTensor("x", []int32{math.MinInt32, math.MaxInt32}, nil), []float64{math.MinInt32, math.MaxInt32})
	check("u32", SliceTensor("x", []uint32{math.MaxUint32}, nil), []float64{math.MaxUint32})
	check("i64", SliceTensor("x", []int64{math.MinInt64, -1}, nil), []float64{math.MinInt64, -1})
	check("u64", SliceTensor("x", []uint64{1 << 63}, nil), []float64{1 << 63})
	check("named", SliceTensor("x", []myFloat{0.25}, nil), []float64{0.25})

	bf, err := HalfTensor("x", tensor.BF16, []uint16{0x3f80, 0xc000}, []int64{2, 1})
	if err != nil || !slices.Equal(bf.Shape, []int64{2, 1}) {
		t.Fatal(err, bf.Shape)
	}
	check("bf16", bf, []float64{1, -2})
	h, _ := HalfTensor("x", tensor.F16, []uint16{0x3c00, 0x7c00}, nil)
	check("f16", h, []float64{1, math.Inf(1)})
	if _, err := HalfTensor("x", tensor.F32, nil, nil); err == nil {
		t.Error("HalfTensor accepts F32")
	}
}

func TestCompareSlice(t *testing.T) {
	refVals := []float32{0.5, -1, 2, 4, 0.125, 3}
	ref := SliceTensor("layers.0.out", refVals, []int64{2, 3})

	// Rounding noise passes under the F32 defaults.
	ours := slices.Clone(refVals)
	ours[2] = math.Nextafter32(ours[2], 3)
	res, err := CompareSlice(ref, ours, nil, Tolerance{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pass || res.Tolerance.Rtol != 1.3e-6 || !slices.Equal(res.Shape, []int64{2, 3}) {
		t.Errorf("one ulp: %+v", res)
	}
	if s := res.Summary(); !strings.HasPrefix(s, "PASS layers.0.out [2 3] F32: matches within tolerance (max|diff| 2.384e-07)") || strings.Contains(s, "\n") {
		t.Errorf("summary of a pass: %q", s)
	}

	// float64 ours against F32 ref: the looser default (F32's).
	ours64 := []float64{0.5, -1, 2, 4, 0.125, 3.5}
	res, err = CompareSlice(ref, ours64, nil, Tolerance{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pass || res.OursDType != tensor.F64 || res.Mismatched != 1 || !slices.Equal(res.FirstMismatch.Index, []int64{1, 2}) {
		t.Fatalf("one wrong value: %+v", res)
	}
	sum := res.Summary()
	for _, want := range []string{
		"FAIL layers.0.out [2 3] F32 vs F64: 1 of 6 elements beyond tolerance (16.7%), max|diff| 0.5\n",
		"tolerance: allclose: |ours - ref| <= atol + rtol * |ref|, atol 1e-05, rtol 1.3e-06\n",
		"ref:  min -1, max 4, mean 1.438, std 1.726, NaN 0, Inf 0\n",
		"mismatched: 1 of 6 elements beyond tolerance (16.7%)\n",
		"worst: |diff| 0.5 at [1 2]: ref 3, ours 3.5\n",
		"first mismatch at [1 2]: ref 3, ours 3.5\n",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	// Literal tolerances.
	res, _ = CompareSlice(ref, ours64, nil, Tolerance{Check: CheckMaxAbs, Atol: 0.5})
	if !res.Pass {
		t.Errorf("max-abs 0.5: %s", res.Summary())
	}

	// Another shape: a shape mismatch, with a hint at most.
	res, err = CompareSlice(ref, refVals, []int64{3, 2}, Tolerance{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pass || !res.ShapeMismatch || !strings.Contains(res.Summary(), "FAIL layers.0.out [2 3] vs [3 2] F32: shape [2 3] vs [3 2]") {
		t.Errorf("shape mismatch: %s", res.Summary())
	}
	if !strings.Contains(res.Summary(), "shapes differ: ref [2 3], ours [3 2] (6 vs 6 elements)") {
		t.Errorf("shape mismatch facts: %s", res.Summary())
	}

	// Errors: the element count must fit.
	if _, err := CompareSlice(ref, refVals[:5], nil, Tolerance{}); err == nil || err.Error() != `tensor "layers.0.out": ours has 5 elements, ref's shape [2 3] needs 6 (pass ours's shape to compare shapes)` {
		t.Errorf("short slice: %v", err)
	}
	if _, err := CompareSlice(ref, refVals, []int64{4}, Tolerance{}); err == nil {
		t.Error("shape [4] for 6 elements accepted")
	}
	if _, err := CompareSlice(ref, refVals, nil, Tolerance{Check: CheckAllClose, Atol: -1}); err == nil {
		t.Error("negative atol accepted")
	}
}

func TestSummaryIntroducedAndExact(t *testing.T) {
	ref := SliceTensor("x", []float32{1, 2, 3}, nil)
	res, _ := CompareSlice(ref, []float32{1, float32(math.NaN()), 3}, nil, Tolerance{})
	if s := res.Summary(); !strings.HasPrefix(s, "FAIL x [3] F32: 1 NaN/Inf introduced (first at [1])") ||
		!strings.Contains(s, "introduced: 1 NaN/Inf in ours where ref is finite, first at [1]: ref 2, ours NaN") {
		t.Errorf("introduced: %s", s)
	}
	res, _ = CompareSlice(ref, []float32{1, 2, math.Nextafter32(3, 4)}, nil, Tolerance{Exact: true})
	if s := res.Summary(); !strings.HasPrefix(s, "FAIL x [3] F32: 1 of 3 elements differ bitwise (33.3%)") || !strings.Contains(s, "tolerance: exact (bitwise equal)") {
		t.Errorf("exact: %s", s)
	}
	res, _ = CompareSlice(ref, []float32{1, 2, 3}, nil, Tolerance{})
	if s := res.Summary(); s != "PASS x [3] F32: matches exactly" {
		t.Errorf("exact match: %q", s)
	}
	res, _ = CompareSlice(SliceTensor("e", []float32{}, []int64{0}), []float32{}, nil, Tolerance{})
	if s := res.Summary(); s != "PASS e [0] F32: matches (no elements)" {
		t.Errorf("empty: %q", s)
	}
}
