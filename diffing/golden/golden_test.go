package golden

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/tensortest"
	"github.com/refcmp/refcmp/tensor"
)

func TestGoldenRoundTrip(t *testing.T) {
	vals := tensortest.RandF32(100, 1)
	vals[3] = float32(math.NaN())
	vals[4] = float32(math.Inf(1))
	g := recordOf(t, "in.safetensors", diffing.SliceTensor("a", vals, []int64{10, 10}), diffing.SliceTensor("b", []float32{float32(math.NaN())}, nil))
	data, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	data2, _ := json.MarshalIndent(back, "", "  ")
	if string(data) != string(data2) {
		t.Errorf("golden does not round-trip:\n%s\n%s", data, data2)
	}
	if !strings.Contains(string(data), `"mean": "NaN"`) {
		t.Errorf("a NaN statistic is not written as \"NaN\":\n%s", data)
	}
	rep := Check(back, g, CheckOptions{})
	if !rep.Pass || rep.Counts.Checked != 2 || rep.Counts.Passed != 2 {
		t.Errorf("a record checks against itself: %+v", rep)
	}
}

func TestParseGoldenErrors(t *testing.T) {
	ok := `{"version": 1, "source": "x", "format": "npy", "single": true, "order": "single", "tensors": [
	  {"name": "x.npy", "dtype": "F32", "shape": [2, 2], "numel": 4,
	   "stats": {"min": 0, "max": 3, "mean": 1.5, "std": 1.118, "nan": 0, "inf": 0},
	   "sha256": "` + strings.Repeat("ab", 32) + `",
	   "samples": [{"index": [0, 0], "offset": 0, "value": 0}, {"index": [1, 1], "offset": 3, "value": 3}],
	   "future_field": true}]}`
	if _, err := Parse([]byte(ok)); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{`"version": 1`, `"version": 2`, "golden file version 2 is newer than this refcmp reads (1): upgrade refcmp"},
		{`"version": 1,`, ``, `not a golden file: no "version" field`},
		{`"version": 1`, `"version": 0`, "golden file version 0: want 1"},
		{`"dtype": "F32"`, `"dtype": "F33"`, `unknown dtype "F33"`},
		{`"dtype": "F32"`, `"dtype": ""`, `tensor "x.npy": no dtype`},
		{`"numel": 4`, `"numel": 5`, `tensor "x.npy": numel 5 does not match shape [2 2] (4 elements)`},
		{`"offset": 3`, `"offset": 4`, `tensor "x.npy": sample 1: offset 4 is outside the 4 elements`},
		{`"index": [1, 1]`, `"index": [1, 0]`, `tensor "x.npy": sample 1: index [1 0] is not offset 3 in shape [2 2]`},
		{`"offset": 3`, `"offset": 0`, `tensor "x.npy": sample 1: offsets must ascend (0 after 0)`},
		{`"sha256": "ab`, `"sha256": "AB`, `tensor "x.npy": sha256 "ABab`},
		{`"nan": 0`, `"nan": 5`, `tensor "x.npy": NaN count 5 and Inf count 0 do not fit 4 elements`},
		{`"shape": [2, 2]`, `"shape": [2, -2]`, `tensor "x.npy": negative dimension`},
		{`"tensors": [`, `"tensors": [{"name": "x.npy", "dtype": "F32", "shape": [], "numel": 1},`, `tensor "x.npy" appears twice`},
		{`"numel": 4,`, `"numel": 4`, "line 3, column 5"},
		{`"mean": 1.5`, `"mean": "banana"`, `tensor "x.npy" (number 0): tensor.Float: not a number: "banana"`},
	} {
		in := strings.Replace(ok, tc.old, tc.new, 1)
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s -> %s: error %v, want %q", tc.old, tc.new, err, tc.want)
		}
	}
}

func changesOf(c TensorCheck) []string {
	var out []string
	for _, ch := range c.Changes {
		out = append(out, ch.What)
	}
	return out
}

func TestCheckGolden(t *testing.T) {
	a := tensortest.RandF32(300, 2)
	b := tensortest.RandF32(64, 3)
	rec := recordOf(t, "in", diffing.SliceTensor("a", a, []int64{3, 100}), diffing.SliceTensor("b", b, []int64{8, 8}))

	check := func(mode Mode, tol diffing.ToleranceRules, ts ...tensor.Tensor) Report {
		t.Helper()
		cur := File{Source: "cur", Format: "safetensors"}
		for _, x := range ts {
			s, err := Summarize(x, SamplesFor(rec, x.Name, x.Shape, false))
			if err != nil {
				t.Fatal(err)
			}
			cur.Tensors = append(cur.Tensors, s)
		}
		return Check(rec, cur, CheckOptions{Mode: mode, Tolerance: tol})
	}
	var none diffing.ToleranceRules

	// One value changed: stats mode names the tensor and what moved.
	a2 := slices.Clone(a)
	a2[150] = 100
	rep := check("", none, diffing.SliceTensor("a", a2, []int64{3, 100}), diffing.SliceTensor("b", b, []int64{8, 8}))
	if rep.Pass || rep.FirstChange == nil || *rep.FirstChange != "a" || rep.Counts.Changed != 1 || rep.Counts.Passed != 1 {
		t.Fatalf("changed value: %+v", rep)
	}
	if got := changesOf(rep.Tensors[0]); !slices.Contains(got, "max") || !slices.Contains(got, "mean") {
		t.Errorf("changed value: changes %v, want max and mean among them", got)
	}
	if *rep.Tensors[0].HashMatch {
		t.Error("changed value: hash_match true")
	}
	if s := rep.Tensors[0].Summary(); !strings.HasPrefix(s, "a: changed: max ") {
		t.Errorf("summary %q", s)
	}
	// Structure mode ignores it; exact mode sees it.
	if rep := check(ModeStructure, none, diffing.SliceTensor("a", a2, []int64{3, 100}), diffing.SliceTensor("b", b, []int64{8, 8})); !rep.Pass || rep.Tensors[0].HashMatch != nil || rep.Tensors[0].Recorded != nil {
		t.Errorf("structure mode: %+v", rep)
	}
	if rep := check(ModeExact, none, diffing.SliceTensor("a", a2, []int64{3, 100}), diffing.SliceTensor("b", b, []int64{8, 8})); rep.Pass || !slices.Equal(changesOf(rep.Tensors[0]), []string{"sha256"}) {
		t.Errorf("exact mode: %+v", rep)
	}

	// A change of one ulp at a sampled position: within tolerance in
	// stats mode (bits differ), a change in exact mode and with an exact
	// rule for that name.
	a3 := slices.Clone(a)
	a3[0] = math.Nextafter32(a3[0], 10)
	rep = check(ModeStats, none, diffing.SliceTensor("a", a3, []int64{3, 100}), diffing.SliceTensor("b", b, []int64{8, 8}))
	if !rep.Pass || *rep.Tensors[0].HashMatch || !strings.Contains(rep.Tensors[0].Summary(), "within tolerance (the bits differ)") {
		t.Errorf("one ulp, stats: %+v", rep.Tensors[0])
	}
	exactA := diffing.ToleranceRules{Rules: []diffing.ToleranceRule{{Pattern: "a", ToleranceSpec: diffing.ToleranceSpec{Exact: ptrTo(true)}}}}
	if rep := check(ModeStats, exactA, diffing.SliceTensor("a", a3, []int64{3, 100}), diffing.SliceTensor("b", b, []int64{8, 8})); rep.Pass || !rep.Tensors[0].Tolerance.Exact {
		t.Errorf("one ulp, exact rule: %+v", rep)
	}
	if rep := check(ModeExact, none, diffing.SliceTensor("a", a3, []int64{3, 100}), diffing.SliceTensor("b", b, []int64{8, 8})); rep.Pass {
		t.Errorf("one ulp, exact mode passes")
	}
	// A sampled value moved by more than the tolerance, stats barely.
	a4 := slices.Clone(a)
	a4[0] += 1e-3
	rep = check(ModeStats, none, diffing.SliceTensor("a", a4, []int64{3, 100}), diffing.SliceTensor("b", b, []int64{8, 8}))
	if rep.Pass {
		t.Fatal("sampled value moved by 1e-3: passes")
	}
	var val *Change
	for i, ch := range rep.Tensors[0].Changes {
		if ch.What == "value" {
			val = &rep.Tensors[0].Changes[i]
		}
	}
	if val == nil || !slices.Equal(val.Index, []int64{0, 0}) || *val.Offset != 0 || val.AbsDiff == nil || float64(*val.AbsDiff) < 9e-4 {
		t.Errorf("sampled value: changes %+v", rep.Tensors[0].Changes)
	}
	// A looser --atol accepts it; max-abs uses atol alone.
	loose := diffing.ToleranceRules{Base: diffing.ToleranceSpec{Atol: ptrTo(1e-2)}}
	if rep := check(ModeStats, loose, diffing.SliceTensor("a", a4, []int64{3, 100}), diffing.SliceTensor("b", b, []int64{8, 8})); !rep.Pass {
		t.Errorf("atol 1e-2: %+v", rep.Tensors[0].Changes)
	}

	// Shape, dtype, NaN count; new and missing.
	a5 := slices.Clone(a)
	a5[7] = float32(math.NaN())
	bf := diffing.SliceTensor("b", b, []int64{8, 8})
	bf.Shape = []int64{64}
	rep = check("", none, diffing.SliceTensor("a", a5, []int64{3, 100}), bf, diffing.SliceTensor("c", b, nil))
	if rep.Pass || rep.Counts.Changed != 2 || !slices.Equal(rep.New, []string{"c"}) {
		t.Fatalf("shape/NaN/new: %+v", rep)
	}
	if got := changesOf(rep.Tensors[0]); got[0] != "nan" {
		t.Errorf("NaN planted: changes %v", got)
	}
	if got := changesOf(rep.Tensors[1]); !slices.Equal(got, []string{"shape"}) {
		t.Errorf("reshaped: changes %v", got)
	}
	rep = check("", none, diffing.SliceTensor("b", b, []int64{8, 8}))
	if rep.Pass || !slices.Equal(rep.Missing, []string{"a"}) || rep.Counts.Missing != 1 || rep.FirstChange != nil {
		t.Errorf("missing: %+v", rep)
	}
	bt := diffing.SliceTensor("b", func() []float64 {
		out := make([]float64, len(b))
		for i, v := range b {
			out[i] = float64(v)
		}
		return out
	}(), []int64{8, 8})
	rep = check("", none, diffing.SliceTensor("a", a, []int64{3, 100}), bt)
	if rep.Pass || !slices.Equal(changesOf(rep.Tensors[1]), []string{"dtype"}) {
		t.Errorf("F64 for F32 with the same values: %+v", rep.Tensors[1])
	}
}

func TestCheckGoldenSingle(t *testing.T) {
	rec := recordOf(t, "x.npy", diffing.SliceTensor("x.npy", []float32{1, 2, 3}, nil))
	rec.Single = true
	s, _ := Summarize(diffing.SliceTensor("y.npy", []float32{1, 2, 3}, nil), SamplesFor(rec, "y.npy", []int64{3}, true))
	cur := File{Single: true, Tensors: []Tensor{s}}
	rep := Check(rec, cur, CheckOptions{})
	if !rep.Pass || rep.Tensors[0].CurrentName != "y.npy" {
		t.Errorf("single tensors pair whatever their names: %+v", rep)
	}
}

func TestGoldenClose(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct {
		c, r float64
		ok   bool
	}{
		{1, 1, true}, {1.00001, 1, true}, {1.1, 1, false}, {0, -0.0, true},
		{nan, nan, true}, {nan, 1, false}, {1, nan, false},
		{inf, inf, true}, {-inf, inf, false}, {inf, 1e308, false},
	} {
		if ok, _, _ := goldenClose(tc.c, tc.r, 1e-5, 1e-5); ok != tc.ok {
			t.Errorf("goldenClose(%v, %v) = %v", tc.c, tc.r, ok)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func FuzzParseGolden(f *testing.F) {
	g := File{Version: 1, Source: "s", Format: "npy", Tensors: []Tensor{{
		TensorStats: diffing.TensorStats{Name: "x", DType: tensor.F32, Shape: []int64{2}, Numel: 2}, SHA256: strings.Repeat("0", 64),
		Samples: []diffing.Sample{{Index: []int64{1}, Offset: 1, Value: 2}},
	}}}
	b, _ := json.Marshal(g)
	f.Add(b)
	f.Add([]byte(`{"version": 1, "tensors": [{"name": "a", "dtype": "BF16", "shape": [], "numel": 1, "stats": {"min": "NaN"}}]}`))
	f.Add([]byte(`{"version": 1, "tensors": [{"name": "a", "dtype": "F32", "shape": [9223372036854775807, 2], "numel": 1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parses checks against itself.
		rep := Check(g, g, CheckOptions{})
		if rep.Counts.Missing != 0 || rep.Counts.New != 0 {
			t.Fatalf("a parsed golden does not pair with itself: %+v", rep.Counts)
		}
	})
}

// BenchmarkSummarize measures one pass over 64 MiB of F32 (bytes of input
// per second), with and without the SHA-256, in memory and through
// ReadAt.
func BenchmarkSummarize(b *testing.B) {
	vals := tensortest.RandF32(16<<20, 3)
	mem := diffing.SliceTensor("x", vals, nil)
	for _, c := range []struct {
		name string
		t    tensor.Tensor
		hash bool
	}{
		{"mem", mem, false},
		{"mem+sha256", mem, true},
		{"readat", tensor.Tensor{Name: "x", DType: mem.DType, Shape: mem.Shape, Data: tensortest.ReaderOnly(mem.Data)}, false},
		{"readat+sha256", tensor.Tensor{Name: "x", DType: mem.DType, Shape: mem.Shape, Data: tensortest.ReaderOnly(mem.Data)}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(vals)))
			for b.Loop() {
				if _, err := diffing.Summarize(c.t, diffing.SummaryOptions{Hash: c.hash, Samples: diffing.SamplePositions(int64(len(vals)))}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func recordOf(t *testing.T, source string, ts ...tensor.Tensor) File {
	t.Helper()
	g := File{Version: Version, Source: source, Format: "safetensors", Order: "natural"}
	for _, x := range ts {
		s, err := Summarize(x, diffing.SamplePositions(x.Numel()))
		if err != nil {
			t.Fatal(err)
		}
		g.Tensors = append(g.Tensors, s)
	}
	return g
}
