package diffing

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// encode writes vals as dtype dt, little-endian (rounding to nearest even
// for the narrow float types).
func encode(t testing.TB, dt tensor.DType, vals []float64) []byte {
	t.Helper()
	sz := dt.Size()
	b := make([]byte, len(vals)*sz)
	for i, v := range vals {
		p := b[i*sz:]
		switch dt {
		case tensor.F64:
			binary.LittleEndian.PutUint64(p, math.Float64bits(v))
		case tensor.F32:
			binary.LittleEndian.PutUint32(p, math.Float32bits(float32(v)))
		case tensor.F16:
			binary.LittleEndian.PutUint16(p, f16Bits(v))
		case tensor.BF16:
			binary.LittleEndian.PutUint16(p, bf16Bits(v))
		case tensor.I64:
			binary.LittleEndian.PutUint64(p, uint64(int64(v)))
		case tensor.U64:
			binary.LittleEndian.PutUint64(p, uint64(v))
		case tensor.I32, tensor.U32:
			binary.LittleEndian.PutUint32(p, uint32(int64(v)))
		case tensor.I16, tensor.U16:
			binary.LittleEndian.PutUint16(p, uint16(int64(v)))
		case tensor.I8, tensor.U8, tensor.Bool:
			p[0] = byte(int64(v))
		case tensor.F8E4M3, tensor.F8E5M2:
			p[0] = f8Bits(t, dt, v)
		default:
			t.Fatalf("encode: dtype %v", dt)
		}
	}
	return b
}

// f16Bits encodes v as binary16 (round to nearest even).
func f16Bits(v float64) uint16 {
	var sign uint16
	if math.Signbit(v) {
		sign = 0x8000
	}
	switch {
	case math.IsNaN(v):
		return 0x7e00
	case math.IsInf(v, 0):
		return sign | 0x7c00
	}
	f, _ := formatOf(tensor.F16)
	r := math.Abs(f.round(v))
	switch {
	case math.IsInf(r, 0):
		return sign | 0x7c00
	case r < 0x1p-14:
		return sign | uint16(r/0x1p-24)
	}
	_, e := math.Frexp(r)
	e-- // r = 1.m × 2^e
	m := uint16((r/math.Ldexp(1, e) - 1) * 1024)
	return sign | uint16(e+15)<<10 | m
}

func bf16Bits(v float64) uint16 {
	if math.IsNaN(v) {
		return 0x7fc0
	}
	f, _ := formatOf(tensor.BF16)
	return uint16(math.Float32bits(float32(f.round(v))) >> 16)
}

// f8Bits finds the byte whose value is v rounded to the format.
func f8Bits(t testing.TB, dt tensor.DType, v float64) byte {
	f, _ := formatOf(dt)
	r := f.round(v)
	if dt == tensor.F8E4M3 && math.IsInf(r, 0) {
		r = math.NaN() // no infinities in float8_e4m3fn
	}
	tab := byteTable(dt)
	for i, x := range tab {
		if x == r && math.Signbit(x) == math.Signbit(r) || math.IsNaN(r) && math.IsNaN(x) {
			return byte(i)
		}
	}
	t.Fatalf("f8Bits(%v, %v): no byte for %v", dt, v, r)
	return 0
}

func mkTensor(t testing.TB, name string, dt tensor.DType, shape []int64, vals []float64) tensor.Tensor {
	t.Helper()
	return tensor.Tensor{Name: name, DType: dt, Shape: shape, Data: tensor.MemData(encode(t, dt, vals))}
}

func mustCompare(t testing.TB, ref, ours tensor.Tensor, tol Tolerance) Result {
	t.Helper()
	res, err := Compare(ref, ours, tol)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func near(a, b, rel float64) bool {
	if a == b || math.IsNaN(a) && math.IsNaN(b) {
		return true
	}
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}

func TestCompareHandComputed(t *testing.T) {
	f32 := tensor.F32
	ref := mkTensor(t, "x", f32, []int64{2, 2}, []float64{1, 2, 3, 4})
	ours := mkTensor(t, "y", f32, []int64{2, 2}, []float64{1, 2, 3.5, 4})
	res := mustCompare(t, ref, ours, DefaultTolerance(f32, f32))

	checks := []struct {
		name      string
		got, want float64
	}{
		{"ref.min", float64(res.Ref.Min), 1},
		{"ref.max", float64(res.Ref.Max), 4},
		{"ref.mean", float64(res.Ref.Mean), 2.5},
		{"ref.std", float64(res.Ref.Std), math.Sqrt(1.25)},
		{"ours.mean", float64(res.Ours.Mean), 2.625},
		{"ours.std", float64(res.Ours.Std), math.Sqrt((1.625*1.625 + 0.625*0.625 + 0.875*0.875 + 1.375*1.375) / 4)},
		{"max_abs_diff", float64(res.MaxAbsDiff), 0.5},
		{"mean_abs_diff", float64(res.MeanAbsDiff), 0.125},
		{"max_rel_diff", float64(res.MaxRelDiff), 0.5 / 3},
		{"rmse", float64(res.RMSE), 0.25},
		{"nmse", float64(res.NMSE), 0.0625 / 1.25},
		{"cosine", float64(res.Cosine), 31.5 / (math.Sqrt(30) * math.Sqrt(33.25))},
		{"mismatch_fraction", float64(res.MismatchFraction), 0.25},
	}
	for _, c := range checks {
		if !near(c.got, c.want, 1e-15) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if res.Mismatched != 1 || res.Pass || res.Numel != 4 || res.FinitePairs != 4 {
		t.Errorf("mismatched=%d pass=%v numel=%d pairs=%d", res.Mismatched, res.Pass, res.Numel, res.FinitePairs)
	}
	wantEl := Element{Index: []int64{1, 0}, Offset: 2, Ref: 3, Ours: 3.5}
	for what, el := range map[string]*Element{"worst": res.Worst, "first_mismatch": res.FirstMismatch} {
		if el == nil || !sameElement(*el, wantEl) {
			t.Errorf("%s = %+v, want %+v", what, el, wantEl)
		}
	}
	if res.Name != "x" || res.OursName != "y" || res.Tolerance.Check != CheckAllClose {
		t.Errorf("names/tolerance: %+v", res)
	}
}

func sameElement(a, b Element) bool {
	if len(a.Index) != len(b.Index) || a.Offset != b.Offset {
		return false
	}
	for i := range a.Index {
		if a.Index[i] != b.Index[i] {
			return false
		}
	}
	return near(float64(a.Ref), float64(b.Ref), 0) && near(float64(a.Ours), float64(b.Ours), 0)
}

func TestCompareNonFinite(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	f64 := tensor.F64
	ref := mkTensor(t, "x", f64, []int64{6}, []float64{1, nan, inf, -inf, 5, 2})
	ours := mkTensor(t, "x", f64, []int64{6}, []float64{1, nan, inf, inf, nan, 2})
	res := mustCompare(t, ref, ours, DefaultTolerance(f64, f64))
	if res.Mismatched != 3 || res.Pass {
		t.Errorf("mismatched = %d (pass %v), want 3 (NaN≠NaN, -Inf≠Inf, 5 vs NaN)", res.Mismatched, res.Pass)
	}
	if res.Introduced != 1 || res.FirstIntroduced == nil || res.FirstIntroduced.Offset != 4 {
		t.Errorf("introduced = %d at %+v, want 1 at 4", res.Introduced, res.FirstIntroduced)
	}
	if res.FirstMismatch == nil || res.FirstMismatch.Offset != 1 {
		t.Errorf("first mismatch %+v, want offset 1", res.FirstMismatch)
	}
	if res.Ref.NaN != 1 || res.Ref.Inf != 2 || res.Ours.NaN != 2 || res.Ours.Inf != 2 {
		t.Errorf("counts ref %+v ours %+v", res.Ref, res.Ours)
	}
	if res.Ref.Min != 1 || res.Ref.Max != 5 || res.Ref.Mean != tensor.Float(8.0/3) || res.Ours.Mean != 1.5 {
		t.Errorf("finite stats ref %+v ours %+v", res.Ref, res.Ours)
	}
	if res.FinitePairs != 2 || res.MaxAbsDiff != 0 || res.Worst != nil {
		t.Errorf("pairs %d max %v worst %+v", res.FinitePairs, res.MaxAbsDiff, res.Worst)
	}

	tol := DefaultTolerance(f64, f64)
	tol.EqualNaN = true
	res = mustCompare(t, ref, ours, tol)
	if res.Mismatched != 2 {
		t.Errorf("equal_nan: mismatched = %d, want 2", res.Mismatched)
	}
	// NaN in the same places with equal_nan passes, also under cosine.
	same := mkTensor(t, "x", f64, []int64{3}, []float64{nan, inf, 1})
	for _, check := range AllChecks() {
		tol := Tolerance{Check: check, Atol: 1e-7, Rtol: 1e-7, EqualNaN: true, Threshold: 0.5}
		if check == CheckNMSE {
			tol.Threshold = 1e-3
		}
		if res := mustCompare(t, same, same, tol); !res.Pass {
			t.Errorf("%s: identical tensors with NaN fail: %+v", check, res)
		}
		tol.EqualNaN = false
		if res := mustCompare(t, same, same, tol); res.Pass {
			t.Errorf("%s: NaN == NaN without equal_nan", check)
		}
	}
	// An introduced infinity fails even the cosine check.
	a := mkTensor(t, "x", f64, []int64{3}, []float64{1, 2, 3})
	b := mkTensor(t, "x", f64, []int64{3}, []float64{1, 2, inf})
	if res := mustCompare(t, a, b, Tolerance{Check: CheckCosine, Threshold: -1}); res.Pass || res.Introduced != 1 {
		t.Errorf("introduced Inf under cosine: pass %v introduced %d", res.Pass, res.Introduced)
	}
}

func TestCompareEdgeValues(t *testing.T) {
	f32 := tensor.F32
	one := 1.0
	next := float64(math.Nextafter32(1, 2))
	sub := float64(math.Float32frombits(1)) // smallest subnormal
	cases := []struct {
		name      string
		ref, ours []float64
		tol       Tolerance
		mis       int64
	}{
		{"zero vs -zero allclose", []float64{0}, []float64{math.Copysign(0, -1)}, DefaultTolerance(f32, f32), 0},
		{"zero vs -zero exact", []float64{0}, []float64{math.Copysign(0, -1)}, Tolerance{Exact: true}, 1},
		{"one ulp allclose", []float64{one}, []float64{next}, DefaultTolerance(f32, f32), 0},
		{"one ulp exact", []float64{one}, []float64{next}, Tolerance{Exact: true}, 1},
		{"one ulp no tolerance", []float64{one}, []float64{next}, Tolerance{}, 1},
		{"subnormals", []float64{sub, 2 * sub}, []float64{2 * sub, sub}, Tolerance{}, 2},
		{"subnormal atol", []float64{sub}, []float64{2 * sub}, Tolerance{Atol: sub}, 0},
		{"inf same", []float64{math.Inf(-1)}, []float64{math.Inf(-1)}, Tolerance{}, 0},
		{"inf other", []float64{math.Inf(-1)}, []float64{math.Inf(1)}, Tolerance{Atol: 1}, 1},
		{"rtol boundary", []float64{100}, []float64{101}, Tolerance{Rtol: 0.01}, 0},
		{"rtol over", []float64{100}, []float64{101.0001}, Tolerance{Rtol: 0.01}, 1},
		{"max-abs ignores rtol", []float64{100}, []float64{101}, Tolerance{Check: CheckMaxAbs, Rtol: 0.5, Atol: 0.5}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := mustCompare(t, mkTensor(t, "x", f32, []int64{int64(len(c.ref))}, c.ref),
				mkTensor(t, "x", f32, []int64{int64(len(c.ours))}, c.ours), c.tol)
			if res.Mismatched != c.mis || res.Pass != (c.mis == 0) {
				t.Errorf("mismatched = %d pass = %v, want %d", res.Mismatched, res.Pass, c.mis)
			}
		})
	}
}

func TestCompareMixedDTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 5000)
	for i := range vals {
		vals[i] = r.NormFloat64()
	}
	ref := mkTensor(t, "h", tensor.F32, []int64{50, 100}, vals)
	for _, dt := range []tensor.DType{tensor.BF16, tensor.F16, tensor.F8E4M3, tensor.F8E5M2} {
		ours := mkTensor(t, "h", dt, []int64{50, 100}, vals)
		res := mustCompare(t, ref, ours, DefaultTolerance(tensor.F32, dt))
		if !res.Pass {
			t.Errorf("F32 vs %v rounded: fails under the default tolerance %+v: %d mismatched, max |d| %v",
				dt, res.Tolerance, res.Mismatched, res.MaxAbsDiff)
		}
		// Tighter than the dtype's rounding: fails.
		if res := mustCompare(t, ref, ours, DefaultTolerance(tensor.F32, tensor.F32)); res.Pass {
			t.Errorf("F32 vs %v passes F32 tolerance", dt)
		}
	}
	// Exact across dtypes compares values: 1.0 in F32 and F16 are equal.
	a := mkTensor(t, "x", tensor.F32, []int64{3}, []float64{1, 0.5, -2})
	b := mkTensor(t, "x", tensor.F16, []int64{3}, []float64{1, 0.5, -2})
	if res := mustCompare(t, a, b, Tolerance{Exact: true}); !res.Pass {
		t.Errorf("exact F32 vs F16 of equal values fails")
	}
}

func TestCompareIntegers(t *testing.T) {
	big := float64(1 << 53)
	a := tensor.Tensor{Name: "i", DType: tensor.I64, Shape: []int64{2}, Data: tensor.MemData(binary.LittleEndian.AppendUint64(
		binary.LittleEndian.AppendUint64(nil, 1<<53), 7))}
	b := tensor.Tensor{Name: "i", DType: tensor.I64, Shape: []int64{2}, Data: tensor.MemData(binary.LittleEndian.AppendUint64(
		binary.LittleEndian.AppendUint64(nil, 1<<53+1), 7))}
	res := mustCompare(t, a, b, DefaultTolerance(tensor.I64, tensor.I64))
	if res.Pass || res.Mismatched != 1 || res.FirstMismatch.Offset != 0 {
		t.Errorf("I64 2^53 vs 2^53+1: pass %v mismatched %d", res.Pass, res.Mismatched)
	}
	_ = big
	for _, dt := range []tensor.DType{tensor.I8, tensor.U8, tensor.I16, tensor.U16,
		tensor.I32, tensor.U32, tensor.U64, tensor.Bool} {
		vals := []float64{0, 1, 1, 0, 1}
		x := mkTensor(t, "i", dt, []int64{5}, vals)
		y := mkTensor(t, "i", dt, []int64{5}, []float64{0, 1, 0, 0, 1})
		res := mustCompare(t, x, y, DefaultTolerance(dt, dt))
		if res.Mismatched != 1 || res.FirstMismatch.Offset != 2 || res.Ref.Mean != 0.6 {
			t.Errorf("%v: mismatched %d first %+v mean %v", dt, res.Mismatched, res.FirstMismatch, res.Ref.Mean)
		}
	}
}

func TestCompareChecks(t *testing.T) {
	f64 := tensor.F64
	ref := mkTensor(t, "x", f64, []int64{4}, []float64{1, 2, 3, 4})
	ours := mkTensor(t, "x", f64, []int64{4}, []float64{1.1, 2, 3, 4})
	// cosine ≈ 0.99985, nmse = (0.01/4)/1.25 = 0.002.
	cases := []struct {
		tol  Tolerance
		pass bool
	}{
		{Tolerance{Check: CheckCosine, Threshold: 0.999}, true},
		{Tolerance{Check: CheckCosine, Threshold: 0.99999}, false},
		{Tolerance{Check: CheckNMSE, Threshold: 0.0021}, true},
		{Tolerance{Check: CheckNMSE, Threshold: 0.0019}, false},
		{Tolerance{Check: CheckMaxAbs, Atol: 0.11}, true},
		{Tolerance{Check: CheckMaxAbs, Atol: 0.09}, false},
		{Tolerance{Check: CheckAllClose, Rtol: 0.101}, true},
		{Tolerance{Check: CheckAllClose, Rtol: 0.09}, false},
	}
	for _, c := range cases {
		res := mustCompare(t, ref, ours, c.tol)
		if res.Pass != c.pass {
			t.Errorf("%+v: pass = %v, want %v (cosine %v nmse %v)", c.tol, res.Pass, c.pass, res.Cosine, res.NMSE)
		}
	}
}

func TestCompareEmptyAndScalar(t *testing.T) {
	f32 := tensor.F32
	e := tensor.Tensor{Name: "e", DType: f32, Shape: []int64{0, 3}, Data: tensor.MemData(nil)}
	res := mustCompare(t, e, e, DefaultTolerance(f32, f32))
	if !res.Pass || res.Numel != 0 || !math.IsNaN(float64(res.Ref.Mean)) {
		t.Errorf("empty: %+v", res)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Errorf("empty: marshal: %v", err)
	}
	s := mkTensor(t, "s", f32, []int64{}, []float64{3})
	o := mkTensor(t, "s", f32, []int64{}, []float64{4})
	res = mustCompare(t, s, o, DefaultTolerance(f32, f32))
	if res.Pass || res.Worst == nil || len(res.Worst.Index) != 0 || res.NMSE != tensor.Float(math.Inf(1)) {
		t.Errorf("scalar: %+v", res)
	}
}

func TestCompareErrors(t *testing.T) {
	f32 := tensor.F32
	good := mkTensor(t, "x", f32, []int64{4, 4}, make([]float64, 16))
	short := tensor.Tensor{Name: "x", DType: f32, Shape: []int64{4, 4}, Data: tensor.MemData(make([]byte, 60))}
	_, err := Compare(good, short, DefaultTolerance(f32, f32))
	if err == nil || !strings.Contains(err.Error(), `tensor "x": ours: shape [4 4] F32 needs 64 bytes, data has 60`) {
		t.Errorf("short data: %v", err)
	}
	// A reader without Size: the short read is found while reading.
	_, err = Compare(good, tensor.Tensor{Name: "x", DType: f32, Shape: []int64{4, 4}, Data: readerOnly{tensor.MemData(make([]byte, 60))}}, Tolerance{})
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short reader: %v", err)
	}
	boom := errors.New("disk on fire")
	_, err = Compare(good, tensor.Tensor{Name: "x", DType: f32, Shape: []int64{4, 4}, Data: failing{boom}}, Tolerance{})
	if !errors.Is(err, boom) {
		t.Errorf("read error: %v", err)
	}
	for _, bad := range []Tolerance{{Atol: -1}, {Rtol: math.NaN()}, {Check: "fuzzy"}, {Check: CheckCosine, Threshold: 2}} {
		if _, err := Compare(good, good, bad); err == nil {
			t.Errorf("tolerance %+v accepted", bad)
		}
	}
	if _, err := Compare(tensor.Tensor{Name: "u", Shape: []int64{1}, Data: tensor.MemData{0}}, good, Tolerance{}); err == nil {
		t.Errorf("unknown dtype accepted")
	}
	if _, err := Compare(tensor.Tensor{Name: "n", DType: f32, Shape: []int64{-1}, Data: tensor.MemData{}}, good, Tolerance{}); err == nil {
		t.Errorf("negative dim accepted")
	}
	if _, err := Compare(tensor.Tensor{Name: "n", DType: f32, Shape: []int64{1 << 40, 1 << 40}, Data: tensor.MemData{}}, good, Tolerance{}); err == nil {
		t.Errorf("overflowing shape accepted")
	}
}

type readerOnly struct{ r io.ReaderAt }

func (r readerOnly) ReadAt(p []byte, off int64) (int, error) { return r.r.ReadAt(p, off) }

type failing struct{ err error }

func (f failing) ReadAt(p []byte, off int64) (int, error) { return 0, f.err }

// randomPair makes a large pair (several chunks) with NaN, Inf, zeros and
// an offset mean, so that every path of the kernels runs.
func randomPair(t testing.TB, n int, dt tensor.DType) (tensor.Tensor, tensor.Tensor) {
	r := rand.New(rand.NewPCG(7, 9))
	a := make([]float64, n)
	b := make([]float64, n)
	for i := range a {
		a[i] = 1000 + r.NormFloat64()
		b[i] = a[i] + 1e-3*r.NormFloat64()
		switch r.IntN(20000) {
		case 0:
			b[i] = math.NaN()
		case 1:
			a[i], b[i] = math.Inf(1), math.Inf(1)
		case 2:
			a[i] = 0
		}
	}
	shape := []int64{int64(n / 100), 100}
	return mkTensor(t, "ref", dt, shape, a), mkTensor(t, "ours", dt, shape, b)
}

func TestCompareDeterministic(t *testing.T) {
	ref, ours := randomPair(t, 1_000_000, tensor.F32)
	tol := DefaultTolerance(tensor.F32, tensor.F32)
	var want []byte
	for _, w := range []int{1, 2, 3, 4, 7, 16} {
		res, err := CompareWith(ref, ours, tol, Options{Workers: w, NoHints: true})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(res)
		if want == nil {
			want = got
			continue
		}
		if string(got) != string(want) {
			t.Fatalf("workers %d: result differs:\n%s\nwant\n%s", w, got, want)
		}
	}
	// And through GOMAXPROCS, with a plain io.ReaderAt (copying path).
	old := runtime.GOMAXPROCS(1)
	res1, err1 := CompareWith(tensor.Tensor{Name: ref.Name, DType: ref.DType, Shape: ref.Shape, Data: readerOnly{ref.Data}}, ours, tol, Options{NoHints: true})
	runtime.GOMAXPROCS(4)
	res4, err4 := CompareWith(ref, tensor.Tensor{Name: ours.Name, DType: ours.DType, Shape: ours.Shape, Data: readerOnly{ours.Data}}, tol, Options{NoHints: true})
	runtime.GOMAXPROCS(old)
	if err1 != nil || err4 != nil {
		t.Fatal(err1, err4)
	}
	j1, _ := json.Marshal(res1)
	j4, _ := json.Marshal(res4)
	if string(j1) != string(want) || string(j4) != string(want) {
		t.Fatalf("GOMAXPROCS 1/4 differ:\n%s\n%s\nwant\n%s", j1, j4, want)
	}
}

// TestCompareAccuracy checks the statistics against a straightforward
// float64 reference computed with compensated sums over the same values.
func TestCompareAccuracy(t *testing.T) {
	ref, ours := randomPair(t, 300_000, tensor.F64)
	res, err := Compare(ref, ours, Tolerance{Atol: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	a := make([]float64, 300_000)
	b := make([]float64, 300_000)
	decodeF64(a, ref.Data.(tensor.MemData))
	decodeF64(b, ours.Data.(tensor.MemData))
	var sa, sb, sad, sdd ksum
	var na, nb, np float64
	var mis, intro int64
	for i := range a {
		x, y := a[i], b[i]
		fx, fy := !math.IsNaN(x) && !math.IsInf(x, 0), !math.IsNaN(y) && !math.IsInf(y, 0)
		if fx {
			sa.add(x)
			na++
		}
		if fy {
			sb.add(y)
			nb++
		}
		if fx && fy {
			np++
			sad.add(math.Abs(y - x))
			sdd.add((y - x) * (y - x))
			if math.Abs(y-x) > 1e-2 {
				mis++
			}
		} else if !(x == y) {
			mis++
		}
		if fx && !fy {
			intro++
		}
	}
	ma, mb := sa.sum()/na, sb.sum()/nb
	var va, vb ksum
	for i := range a {
		if x := a[i]; !math.IsNaN(x) && !math.IsInf(x, 0) {
			va.add((x - ma) * (x - ma))
		}
		if y := b[i]; !math.IsNaN(y) && !math.IsInf(y, 0) {
			vb.add((y - mb) * (y - mb))
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"ref.mean", float64(res.Ref.Mean), ma},
		{"ours.mean", float64(res.Ours.Mean), mb},
		{"ref.std", float64(res.Ref.Std), math.Sqrt(va.sum() / na)},
		{"ours.std", float64(res.Ours.Std), math.Sqrt(vb.sum() / nb)},
		{"mean_abs_diff", float64(res.MeanAbsDiff), sad.sum() / np},
		{"rmse", float64(res.RMSE), math.Sqrt(sdd.sum() / np)},
		{"nmse", float64(res.NMSE), sdd.sum() / np / (va.sum() / na)},
	} {
		if !near(c.got, c.want, 1e-12) {
			t.Errorf("%s = %.17g, want %.17g", c.name, c.got, c.want)
		}
	}
	if res.Mismatched != mis || res.Introduced != intro {
		t.Errorf("mismatched %d introduced %d, want %d %d", res.Mismatched, res.Introduced, mis, intro)
	}
}

func TestFloatJSON(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1.5, -2e-300, 1e300, math.SmallestNonzeroFloat64,
		math.NaN(), math.Inf(1), math.Inf(-1)} {
		b, err := json.Marshal(tensor.Float(v))
		if err != nil {
			t.Fatal(err)
		}
		var back tensor.Float
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !(math.Float64bits(float64(back)) == math.Float64bits(v) || math.IsNaN(v) && math.IsNaN(float64(back))) {
			t.Errorf("%v → %s → %v", v, b, back)
		}
	}
	for in, want := range map[string]string{"NaN": `"NaN"`, "+Inf": `"Infinity"`, "-Inf": `"-Infinity"`, "0.1": `0.1`} {
		var f float64
		switch in {
		case "NaN":
			f = math.NaN()
		case "+Inf":
			f = math.Inf(1)
		case "-Inf":
			f = math.Inf(-1)
		default:
			f = 0.1
		}
		if b, _ := json.Marshal(tensor.Float(f)); string(b) != want {
			t.Errorf("%s marshals as %s, want %s", in, b, want)
		}
	}
	var f tensor.Float
	if err := json.Unmarshal([]byte(`"bogus"`), &f); err == nil {
		t.Errorf(`"bogus" accepted`)
	}
}

func TestResultJSONFields(t *testing.T) {
	f32 := tensor.F32
	res := mustCompare(t, mkTensor(t, "x", f32, []int64{2}, []float64{1, math.NaN()}),
		mkTensor(t, "x", f32, []int64{2}, []float64{2, math.NaN()}), Tolerance{})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "ours_name", "shape", "ref_dtype", "ours_dtype", "numel", "ref", "ours",
		"max_abs_diff", "mean_abs_diff", "max_rel_diff", "rmse", "nmse", "cosine", "mismatched",
		"mismatch_fraction", "worst", "first_mismatch", "tolerance", "pass", "hints"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	for _, k := range []string{"min", "max", "mean", "std", "nan", "inf"} {
		if _, ok := m["ref"].(map[string]any)[k]; !ok {
			t.Errorf("JSON ref lacks %q", k)
		}
	}
	for _, k := range []string{"index", "ref", "ours"} {
		if _, ok := m["worst"].(map[string]any)[k]; !ok {
			t.Errorf("JSON worst lacks %q", k)
		}
	}
	for _, k := range []string{"check", "atol", "rtol"} {
		if _, ok := m["tolerance"].(map[string]any)[k]; !ok {
			t.Errorf("JSON tolerance lacks %q", k)
		}
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if string(b2) != string(b) {
		t.Errorf("round trip:\n%s\n%s", b, b2)
	}
}

// TestMaxRelDiffExact checks that MaxRelDiff is exactly the largest
// |d|/|ref| of any element, with the portable and the assembly kernels,
// on data built so that many elements' ratios lie within a few ulps of
// the running maximum: there a test of |d| > max·|ref|, whose product
// rounds, once missed the true maximum by one ulp.
func TestMaxRelDiffExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 600 {
		dt := []tensor.DType{tensor.F32, tensor.F64}[trial%2]
		n := 1 + rng.IntN(3000)
		r, o := make([]float64, n), make([]float64, n)
		m := 0.5 + rng.Float64()
		for i := range r {
			x := rng.NormFloat64()
			ad := m * math.Abs(x)
			for range rng.IntN(3) {
				ad = math.Nextafter(ad, 0)
			}
			for range rng.IntN(3) {
				ad = math.Nextafter(ad, math.Inf(1))
			}
			r[i], o[i] = x, x+ad
			if dt == tensor.F32 {
				r[i], o[i] = float64(float32(x)), float64(float32(x+ad))
			}
		}
		want := 0.0
		for i := range r {
			want = max(want, relDiff(math.Abs(o[i]-r[i]), math.Abs(r[i])))
		}
		shape := []int64{int64(n)}
		for _, pureGo := range []bool{false, true} {
			res, err := CompareWith(mkTensor(t, "r", dt, shape, r), mkTensor(t, "o", dt, shape, o), DefaultTolerance(dt, dt), Options{NoHints: true, pureGo: pureGo})
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(res.MaxRelDiff); got != want {
				t.Fatalf("trial %d (%s, %d elements, pureGo %v): MaxRelDiff %v, want %v", trial, dt, n, pureGo, got, want)
			}
		}
	}
}

// TestCompareIdenticalIsExact: a tensor compared with itself reports
// exactly cosine 1 and zero differences, on the assembly and portable
// kernels alike and across chunk boundaries (an earlier version reported
// cosine 0.9999999999999998).
func TestCompareIdenticalIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 7, 1000, 65536*3 + 5} {
		for _, dt := range []tensor.DType{tensor.F32, tensor.F64, tensor.BF16, tensor.F16} {
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = rng.NormFloat64() * 3
			}
			x := mkTensor(t, "x", dt, []int64{int64(n)}, vals)
			res := mustCompare(t, x, x, DefaultTolerance(dt, dt))
			if res.Cosine != 1 || res.MaxAbsDiff != 0 || res.RMSE != 0 || res.NMSE != 0 || res.Mismatched != 0 || !res.Pass {
				t.Errorf("%v n=%d: cosine %v max|diff| %v rmse %v nmse %v mismatched %d pass %v; want exactly 1, 0, 0, 0, 0, true",
					dt, n, float64(res.Cosine), res.MaxAbsDiff, res.RMSE, res.NMSE, res.Mismatched, res.Pass)
			}
		}
	}
}
