package diffing

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/refcmp/refcmp/internal/tensortest"
	"github.com/refcmp/refcmp/tensor"
)

func TestSamplePositions(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want []int64
	}{
		{0, []int64{}},
		{1, []int64{0}},
		{3, []int64{0, 1, 2}},
		{8, []int64{0, 1, 2, 3, 4, 5, 6, 7}},
		// floor(frac(i·φ)·1000) for i = 1..6: 618, 236, 854, 472, 90, 708.
		{1000, []int64{0, 90, 236, 472, 618, 708, 854, 999}},
	} {
		if got := SamplePositions(tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("SamplePositions(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
	for _, n := range []int64{9, 10, 17, 1 << 20, 1<<40 + 3, math.MaxInt64} {
		p := SamplePositions(n)
		if p[0] != 0 || p[len(p)-1] != n-1 || len(p) < 3 || len(p) > 8 {
			t.Errorf("SamplePositions(%d) = %v", n, p)
		}
		for i := 1; i < len(p); i++ {
			if p[i] <= p[i-1] || p[i] >= n {
				t.Errorf("SamplePositions(%d) = %v: not ascending inside [0, n)", n, p)
			}
		}
	}
}

// Summarize's statistics are Compare's (to 1e-12 relative; the
// summation order of the kernels may differ), over several chunks, with NaN and Inf, through ReadAt and in memory, on 1 and 4
// workers.
func TestSummarizeMatchesCompare(t *testing.T) {
	vals := tensortest.RandF32(3*(chunkElems+411), 7)
	vals[5] = float32(math.NaN())
	vals[chunkElems+17] = float32(math.Inf(-1))
	vals[2*chunkElems+999] = float32(math.NaN())
	mem := SliceTensor("x", vals, []int64{3, int64(len(vals) / 3)})
	cmp, err := Compare(mem, mem, Tolerance{Check: CheckAllClose, EqualNaN: true})
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(mem.Data.(tensor.MemData))
	var first *TensorSummary
	for _, w := range []int{1, 4} {
		for _, tt := range []tensor.Tensor{mem, {Name: "x", DType: mem.DType, Shape: mem.Shape, Data: tensortest.ReaderOnly(mem.Data)}} {
			s, err := Summarize(tt, SummaryOptions{Hash: true, Workers: w, Samples: SamplePositions(int64(len(vals)))})
			if err != nil {
				t.Fatal(err)
			}
			if !closeStats(s.Stats, cmp.Ref, 1e-12) {
				t.Errorf("workers %d: stats %+v, Compare's %+v", w, s.Stats, cmp.Ref)
			}
			if s.SHA256 != hex.EncodeToString(want[:]) {
				t.Errorf("workers %d: sha256 %s, want %x", w, s.SHA256, want)
			}
			if s.FirstNonFinite == nil || s.FirstNonFinite.Offset != 5 || !slices.Equal(s.FirstNonFinite.Index, []int64{0, 5}) || !math.IsNaN(float64(s.FirstNonFinite.Value)) {
				t.Errorf("first non-finite %+v, want NaN at [0 5]", s.FirstNonFinite)
			}
			if s.Stats.NaN != 2 || s.Stats.Inf != 1 {
				t.Errorf("NaN %d Inf %d, want 2 and 1", s.Stats.NaN, s.Stats.Inf)
			}
			if first == nil {
				first = &s
			} else if !sameStats(s.Stats, first.Stats) || s.SHA256 != first.SHA256 || !reflect.DeepEqual(s.Samples, first.Samples) {
				t.Errorf("workers %d: summary differs from the first run (results must not depend on workers or the reader)", w)
			}
			for _, smp := range s.Samples {
				if float32(smp.Value) != vals[smp.Offset] && !math.IsNaN(float64(smp.Value)) {
					t.Errorf("sample at %d = %v, want %v", smp.Offset, smp.Value, vals[smp.Offset])
				}
				if !slices.Equal(smp.Index, tensor.Unravel(smp.Offset, mem.Shape)) {
					t.Errorf("sample at %d has index %v", smp.Offset, smp.Index)
				}
			}
		}
	}
}

func closeStats(a, b SideStats, rel float64) bool {
	eq := func(x, y tensor.Float) bool {
		return math.Abs(float64(x-y)) <= rel*math.Abs(float64(y)) || (math.IsNaN(float64(x)) && math.IsNaN(float64(y)))
	}
	return eq(a.Min, b.Min) && eq(a.Max, b.Max) && eq(a.Mean, b.Mean) && eq(a.Std, b.Std) && a.NaN == b.NaN && a.Inf == b.Inf
}

func sameStats(a, b SideStats) bool {
	eq := func(x, y tensor.Float) bool {
		return math.Float64bits(float64(x)) == math.Float64bits(float64(y)) || (math.IsNaN(float64(x)) && math.IsNaN(float64(y)))
	}
	return eq(a.Min, b.Min) && eq(a.Max, b.Max) && eq(a.Mean, b.Mean) && eq(a.Std, b.Std) && a.NaN == b.NaN && a.Inf == b.Inf
}

func TestSummarizeEdges(t *testing.T) {
	empty := SliceTensor("e", []float32{}, []int64{0, 4})
	s, err := Summarize(empty, SummaryOptions{Hash: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Numel != 0 || !math.IsNaN(float64(s.Stats.Mean)) || s.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" || s.FirstNonFinite != nil {
		t.Errorf("empty: %+v", s)
	}
	scalar := SliceTensor("s", []float32{-2.5}, []int64{})
	scalar.Shape = []int64{}
	s, err = Summarize(scalar, SummaryOptions{Samples: SamplePositions(1)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Stats.Min != -2.5 || s.Stats.Std != 0 || len(s.Samples) != 1 || len(s.Samples[0].Index) != 0 || s.Samples[0].Value != -2.5 {
		t.Errorf("scalar: %+v", s)
	}
	// Integers: exact, no NaN.
	it := tensor.Tensor{Name: "i", DType: tensor.I64, Shape: []int64{3}, Data: tensor.MemData(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 1), uint64(1<<63)), 3))}
	s, err = Summarize(it, SummaryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Stats.Min != tensor.Float(math.MinInt64) || s.Stats.Max != 3 {
		t.Errorf("int64: %+v", s.Stats)
	}

	for _, tc := range []struct {
		name string
		t    tensor.Tensor
		opt  SummaryOptions
		want string
	}{
		{"short", tensor.Tensor{Name: "x", DType: tensor.F32, Shape: []int64{4}, Data: tensor.MemData(make([]byte, 12))}, SummaryOptions{}, `tensor "x": shape [4] F32 needs 16 bytes, data has 12`},
		{"short reader", tensor.Tensor{Name: "x", DType: tensor.F32, Shape: []int64{4}, Data: tensortest.ReaderOnly(tensor.MemData(make([]byte, 12)))}, SummaryOptions{}, `tensor "x": shape [4] F32 needs 16 bytes: reading at offset 12: unexpected EOF`},
		{"dtype", tensor.Tensor{Name: "x", Shape: []int64{4}}, SummaryOptions{}, `tensor "x": unsupported dtype ""`},
		{"negative", tensor.Tensor{Name: "x", DType: tensor.F32, Shape: []int64{-1}}, SummaryOptions{}, `tensor "x": negative dimension in shape [-1]`},
		{"samples", SliceTensor("x", []float32{1, 2}, nil), SummaryOptions{Samples: []int64{1, 2}}, `tensor "x": sample offsets [1 2]: want ascending offsets below 2`},
		{"nodata", tensor.Tensor{Name: "x", DType: tensor.F32, Shape: []int64{1}}, SummaryOptions{}, `tensor "x": no data`},
	} {
		_, err := Summarize(tc.t, tc.opt)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
