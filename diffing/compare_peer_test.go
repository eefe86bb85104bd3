package diffing

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

// edgeClass is one class of edge values for TestEdgeNumbersPeers: a
// background pair and a special pair, put at every position in turn.
type edgeClass struct {
	Name        string  `json:"name"`
	DType       string  `json:"dtype"`
	Atol        float64 `json:"atol"`
	Rtol        float64 `json:"rtol"`
	SpecialRef  string  `json:"special_ref"`
	SpecialOurs string  `json:"special_ours"`
	Check       Check   `json:"-"`
	Threshold   float64 `json:"-"`

	ref, ours   []float64 // float64 classes
	iref, iours []uint64  // I64 (two's complement) and U64 classes
	sr, so      float64
	isr, iso    uint64
}

// edgeN spans one whole 1024-element block and a second one of 7
// elements (one 4-lane group for the kernel, a tail of 3 for Go).
const edgeN = blockElems + 7

// allowanceSplit finds x, y (0 < y < x, x - y exact) where the allowance
// atol + rtol·x rounded twice (torch, numpy) and rounded once (FMA)
// give different verdicts on |y - x|: with twiceSays the two-rounding
// verdict is "mismatch" and the FMA one "close", else the reverse.
func allowanceSplit(t *testing.T, atol, rtol float64, twiceSays bool) (x, y float64) {
	t.Helper()
	for i := range 2_000_000 {
		x = 1.5e-5 * (1 + float64(i)*1e-7)
		twice, fused := atol+float64(rtol*x), math.FMA(rtol, x, atol)
		if twice == fused {
			continue
		}
		lo, hi := min(twice, fused), max(twice, fused)
		// |d| = hi: fails the rule whose allowance is lo. Want it to
		// fail the two-rounding rule only: lo == twice.
		if (lo == twice) != twiceSays {
			continue
		}
		y = x - hi // x and hi share a binade: exact
		if x-y == hi && y > 0 {
			return x, y
		}
	}
	t.Fatal("no split found")
	return 0, 0
}

func edgeClasses(t *testing.T) []*edgeClass {
	var cs []*edgeClass
	add := func(name string, bg func(i int) (float64, float64), sr, so float64, atol, rtol float64, check Check, th float64) {
		c := &edgeClass{Name: name, DType: "F64", Atol: atol, Rtol: rtol, sr: sr, so: so, Check: check, Threshold: th,
			SpecialRef: strconv.FormatFloat(sr, 'g', -1, 64), SpecialOurs: strconv.FormatFloat(so, 'g', -1, 64)}
		c.ref, c.ours = make([]float64, edgeN), make([]float64, edgeN)
		for i := range edgeN {
			c.ref[i], c.ours[i] = bg(i)
		}
		cs = append(cs, c)
	}
	// 1. Every block starts with a pair whose ref + ours overflows.
	add("overflow_first", func(int) (float64, float64) { return 1e308, 1e308 }, 1, 5, 1e-7, 1e-7, CheckAllClose, 0)
	// 2. Values ~1e-170, signs flipped: squares underflow.
	tiny := func(i int) (float64, float64) { x := 1e-170 * (1 + float64(i%11)/11); return x, -x }
	add("tiny_flip_cosine", tiny, 2e-170, 2e-170, 0, 0, CheckCosine, DefaultCosineThreshold)
	add("tiny_flip_nmse", tiny, 2e-170, 2e-170, 0, 0, CheckNMSE, DefaultNMSEThreshold)
	// 3. Values ~1e200: squares overflow; one sign flip.
	add("huge", func(i int) (float64, float64) { x := 1e200 * (1 + float64(i%13)/13); return x, x * (1 + 1e-3) },
		3e200, -3e200, 1e-7, 1e-7, CheckAllClose, 0)
	// 4. One difference overflows float64.
	add("overflowing_diff", func(i int) (float64, float64) { x := 1 + float64(i%7); return x, x }, 1.5e308, -1.5e308, 1e-7, 1e-7, CheckAllClose, 0)
	// 5. The allowance one rounding from the boundary, both ways.
	for _, twice := range []bool{true, false} {
		x, y := allowanceSplit(t, 1e-5, 0.1, twice)
		name := "allowance_fma_close"
		if !twice {
			name = "allowance_fma_mismatch"
		}
		add(name, func(i int) (float64, float64) { v := 1.5e-5 * (1 + float64(i%5)/5); return v, v }, x, y, 1e-5, 0.1, CheckAllClose, 0)
	}
	// 6. A subnormal ref whose |d|/|ref| (2/3) beats the running max 0.6.
	add("subnormal_rel", func(int) (float64, float64) { return 1, 1.6 }, 3*0x1p-1074, 5*0x1p-1074, 1e-7, 1e-7, CheckAllClose, 0)
	add("subnormal_rel_near", func(int) (float64, float64) { return 1, 1.6 }, 0x1p-1060, 0x1p-1060*1.6000000000000003, 1e-7, 1e-7, CheckAllClose, 0)

	// 7. 64-bit integers beyond 2^53: a difference of 1.
	addInt := func(name, dt string, bg func(i int) uint64, sr, so uint64, atol float64) {
		c := &edgeClass{Name: name, DType: dt, Atol: atol, isr: sr, iso: so}
		if dt == "I64" {
			c.SpecialRef, c.SpecialOurs = strconv.FormatInt(int64(sr), 10), strconv.FormatInt(int64(so), 10)
		} else {
			c.SpecialRef, c.SpecialOurs = strconv.FormatUint(sr, 10), strconv.FormatUint(so, 10)
		}
		c.iref, c.iours = make([]uint64, edgeN), make([]uint64, edgeN)
		for i := range edgeN {
			c.iref[i] = bg(i)
			c.iours[i] = c.iref[i]
		}
		cs = append(cs, c)
	}
	addInt("i64_beyond_2p53", "I64", func(i int) uint64 { return 1<<53 + uint64(i) }, 1<<60+1, 1<<60, 0)
	addInt("i64_beyond_2p53_atol", "I64", func(i int) uint64 { return 1<<53 + uint64(i) }, 1<<60+1, 1<<60, 0.5)
	neg := func(v int64) uint64 { return uint64(v) }
	addInt("i64_extremes", "I64", func(i int) uint64 { return neg(-1<<62 - int64(i)) }, neg(math.MinInt64), neg(math.MaxInt64), 0)
	addInt("u64_top", "U64", func(i int) uint64 { return math.MaxUint64 - uint64(i) }, math.MaxUint64, math.MaxUint64-1, 0)
	return cs
}

func (c *edgeClass) tensors(t *testing.T, p int) (tensor.Tensor, tensor.Tensor) {
	shape := []int64{edgeN}
	if c.DType == "F64" {
		r, o := append([]float64(nil), c.ref...), append([]float64(nil), c.ours...)
		r[p], o[p] = c.sr, c.so
		return mkTensor(t, "r", tensor.F64, shape, r), mkTensor(t, "o", tensor.F64, shape, o)
	}
	dt := tensor.I64
	if c.DType == "U64" {
		dt = tensor.U64
	}
	enc := func(v []uint64, s uint64) tensor.MemData {
		var b []byte
		for i, x := range v {
			if i == p {
				x = s
			}
			b = binary.LittleEndian.AppendUint64(b, x)
		}
		return b
	}
	return tensor.Tensor{Name: "r", DType: dt, Shape: shape, Data: enc(c.iref, c.isr)},
		tensor.Tensor{Name: "o", DType: dt, Shape: shape, Data: enc(c.iours, c.iso)}
}

// TestEdgeNumbersPeers cross-checks every edge class of issue 9 against
// numpy and torch (float64 verdicts and extremes) and exact rational or
// integer arithmetic (sums), with the special pair at every position of
// a 1024-element block and of a tail, on the assembly and the portable
// kernels. Verdict fields, max |d|, max |d|/|ref| and the worst and
// first indices must be equal; sums within 1e-12 relative.
func TestEdgeNumbersPeers(t *testing.T) {
	py := testenv.Python(t, "numpy", "torch")
	dir := t.TempDir()
	cs := edgeClasses(t)
	for _, c := range cs {
		var rb, ob []byte
		if c.DType == "F64" {
			for i := range c.ref {
				rb = binary.LittleEndian.AppendUint64(rb, math.Float64bits(c.ref[i]))
				ob = binary.LittleEndian.AppendUint64(ob, math.Float64bits(c.ours[i]))
			}
		} else {
			for i := range c.iref {
				rb = binary.LittleEndian.AppendUint64(rb, c.iref[i])
				ob = binary.LittleEndian.AppendUint64(ob, c.iours[i])
			}
		}
		testenv.WriteFile(t, dir, c.Name+"_ref.bin", rb)
		testenv.WriteFile(t, dir, c.Name+"_ours.bin", ob)
	}
	js, _ := json.Marshal(cs)
	testenv.WriteFile(t, dir, "cases.json", js)
	cmd := exec.Command(py, filepath.Join("testdata", "edge_oracle.py"), dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	want := map[string]map[int]map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		p, _ := strconv.Atoi(f[1])
		v, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			t.Fatalf("oracle line %q: %v", sc.Text(), err)
		}
		if want[f[0]] == nil {
			want[f[0]] = map[int]map[string]float64{}
		}
		if want[f[0]][p] == nil {
			want[f[0]][p] = map[string]float64{}
		}
		want[f[0]][p][f[2]] = v
	}
	if os.Getenv("REFCMP_EDGE_DEBUG") != "" {
		t.Logf("oracle output: %d bytes", len(outb))
	}
	for _, c := range cs {
		if len(want[c.Name]) != edgeN {
			t.Fatalf("%s: oracle gave %d positions, want %d", c.Name, len(want[c.Name]), edgeN)
		}
		tol := Tolerance{Check: CheckAllClose, Atol: c.Atol, Rtol: c.Rtol}
		if c.Check == CheckCosine || c.Check == CheckNMSE {
			tol = Tolerance{Check: c.Check, Threshold: c.Threshold}
		}
		fails := 0
		for p := range edgeN {
			ref, ours := c.tensors(t, p)
			for _, pureGo := range []bool{false, true} {
				res, err := CompareWith(ref, ours, tol, Options{NoHints: true, pureGo: pureGo})
				if err != nil {
					t.Fatal(err)
				}
				if bad := edgeMismatch(c, res, want[c.Name][p]); bad != "" {
					if fails++; fails <= 5 {
						t.Errorf("%s, special at %d (pureGo %v): %s", c.Name, p, pureGo, bad)
					}
				}
			}
		}
	}
}

// edgeMismatch says how res differs from the oracle's values w ("" when
// it agrees).
func edgeMismatch(c *edgeClass, res Result, w map[string]float64) string {
	var bad []string
	exact := func(key string, got float64) {
		if v, ok := w[key]; ok && got != v && !(math.IsNaN(got) && math.IsNaN(v)) {
			bad = append(bad, key+" "+strconv.FormatFloat(got, 'g', -1, 64)+", want "+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	close := func(key string, got float64) {
		if v, ok := w[key]; ok && !near(got, v, 1e-12) {
			bad = append(bad, key+" "+strconv.FormatFloat(got, 'g', -1, 64)+", want "+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	first, worst := -1.0, -1.0
	if res.FirstMismatch != nil {
		first = float64(res.FirstMismatch.Offset)
	}
	if res.Worst != nil {
		worst = float64(res.Worst.Offset)
	}
	if c.Check == CheckAllClose {
		exact("mis", float64(res.Mismatched))
		exact("first", first)
		if pass := w["mis"] == 0; res.Pass != pass {
			bad = append(bad, "pass "+strconv.FormatBool(res.Pass))
		}
	}
	exact("max_abs", float64(res.MaxAbsDiff))
	exact("worst", worst)
	exact("max_rel", float64(res.MaxRelDiff))
	close("mean_r", float64(res.Ref.Mean))
	close("std_r", float64(res.Ref.Std))
	close("mean_o", float64(res.Ours.Mean))
	close("std_o", float64(res.Ours.Std))
	close("mean_abs", float64(res.MeanAbsDiff))
	close("rmse", float64(res.RMSE))
	close("nmse", float64(res.NMSE))
	close("cosine", float64(res.Cosine))
	switch c.Check {
	case CheckCosine:
		if pass := w["cosine"] >= c.Threshold; res.Pass != pass {
			bad = append(bad, "pass "+strconv.FormatBool(res.Pass))
		}
	case CheckNMSE:
		if pass := w["nmse"] <= c.Threshold; res.Pass != pass {
			bad = append(bad, "pass "+strconv.FormatBool(res.Pass))
		}
	}
	return strings.Join(bad, "; ")
}
