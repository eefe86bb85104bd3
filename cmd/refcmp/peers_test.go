package main

// Cross-checks of `refcmp tensors --format json` against numpy
// (scripts/numpy_report.py, an independent implementation of the same
// report) on every pair under testdata/pairs (made by
// scripts/make_fixtures.py, listed in testdata/pairs/pairs.json).
//
// TestPeersNumpy runs numpy live, all cases in one python process
// (skipped without a python3 that imports numpy, and torch for .pt pairs,
// unless REFCMP_PEERS=required), and also checks that the committed goldenPath
// reports are current. TestPeersGolden
// compares with those committed reports (testdata/pairs/goldenPath), so the
// numbers are checked even where numpy is absent.
//
// Agreement means: verdicts, names, shapes, dtypes and every count exactly
// (numel, mismatched, finite_pairs, introduced, nan, inf); indices of the
// worst, first mismatching and first introduced elements exactly, with
// their values; float statistics within 1e-9 relative, or 1e-12 of the
// tensor's magnitude for values near 0.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// pairCase is one entry of testdata/pairs/pairs.json.
type pairCase struct {
	Name  string   `json:"name"`
	Ref   string   `json:"ref"`
	Ours  string   `json:"ours"`
	Flags []string `json:"flags"`
	Pass  bool     `json:"pass"`
	Needs []string `json:"needs"`
	About string   `json:"about"`
}

func loadPairCases(t *testing.T) (string, []pairCase) {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "testdata", "pairs")
	b, err := os.ReadFile(filepath.Join(dir, "pairs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Cases []pairCase }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("pairs.json: %v", err)
	}
	if len(m.Cases) == 0 {
		t.Fatal("pairs.json lists no cases")
	}
	return dir, m.Cases
}

// refcmpTensors runs `refcmp tensors --format json FLAGS REF OURS`
// in-process and checks the exit code against the case's verdict.
func refcmpTensors(t *testing.T, dir string, c pairCase) map[string]any {
	t.Helper()
	args := append([]string{"tensors", "--format", "json"}, c.Flags...)
	args = append(args, filepath.Join(dir, c.Ref), filepath.Join(dir, c.Ours))
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	want := exitDiff
	if c.Pass {
		want = exitOK
	}
	if code != want {
		t.Fatalf("refcmp %q: exit %d, want %d\nstderr: %s\nstdout: %s", args, code, want, stderr.String(), stdout.String())
	}
	return decodeReport(t, "refcmp", stdout.Bytes())
}

func decodeReport(t *testing.T, who string, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: output is not JSON: %v\n%s", who, err, b)
	}
	return m
}

// numpyCase is one case of `numpy_report.py --manifest`.
type numpyCase struct {
	Exit   int            `json:"exit"`
	Report map[string]any `json:"report"`
	Error  string         `json:"error"`
}

// numpyReports runs scripts/numpy_report.py over every case of
// pairs.json in one process (importing numpy and torch once), leaving out
// the cases that need torch when python lacks it.
func numpyReports(t *testing.T, python, dir string, torch bool) map[string]numpyCase {
	t.Helper()
	script := filepath.Join(filepath.Dir(filepath.Dir(dir)), "scripts", "numpy_report.py")
	return numpyReportsAt(t, python, script, filepath.Join(dir, "pairs.json"), torch)
}

// numpyReportsAt runs `numpy_report.py --manifest MANIFEST`.
func numpyReportsAt(t *testing.T, python, script, manifest string, torch bool) map[string]numpyCase {
	t.Helper()
	args := []string{script, "--manifest", manifest}
	if !torch {
		args = append(args, "--skip-needing", "torch")
	}
	cmd := exec.Command(python, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\n%s", python, args, err, stderr.String())
	}
	var m struct{ Cases map[string]numpyCase }
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
		t.Fatalf("numpy_report --manifest: output is not JSON: %v", err)
	}
	return m.Cases
}

func TestPeersNumpy(t *testing.T) {
	dir, cases := loadPairCases(t)
	python, torch := testenv.FindPython("numpy", "torch")
	if !torch {
		python = testenv.Python(t, "numpy") // skips (or fails when required) without numpy
	}
	reports := numpyReports(t, python, dir, torch)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			nc, ok := reports[c.Name]
			if !ok {
				testenv.Python(t, c.Needs...) // skips, or fails when REFCMP_PEERS=required
				t.Fatalf("numpy_report left out case %s", c.Name)
			}
			if want := map[bool]int{true: 0, false: 1}[c.Pass]; nc.Exit != want {
				t.Fatalf("numpy_report: exit %d, want %d: %s", nc.Exit, want, nc.Error)
			}
			want := nc.Report
			got := refcmpTensors(t, dir, c)
			comparePeerReports(t, want, got)

			// The committed goldenPath report must still be what numpy says.
			goldenPath := readGolden(t, dir, c)
			var gc peerCompare
			gc.report("", want, goldenPath)
			for _, e := range gc.errs {
				t.Errorf("testdata/pairs/golden/%s.json is stale (rerun scripts/make_fixtures.py): %s", c.Name, e)
			}
		})
	}
}

func TestPeersGolden(t *testing.T) {
	dir, cases := loadPairCases(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			want := readGolden(t, dir, c)
			if p, ok := want["pass"].(bool); !ok || p != c.Pass {
				t.Fatalf("golden pass = %v, pairs.json says %v", want["pass"], c.Pass)
			}
			got := refcmpTensors(t, dir, c)
			comparePeerReports(t, want, got)
		})
	}
}

func readGolden(t *testing.T, dir string, c pairCase) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "golden", c.Name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeReport(t, "golden", b)
}

// comparePeerReports reports every disagreement of got (refcmp) with want
// (numpy).
func comparePeerReports(t *testing.T, want, got map[string]any) {
	t.Helper()
	var pc peerCompare
	pc.report("", want, got)
	for _, e := range pc.errs {
		t.Error(e)
	}
	if t.Failed() {
		wb, _ := json.MarshalIndent(want, "", " ")
		gb, _ := json.MarshalIndent(got, "", " ")
		t.Logf("numpy:\n%s\nrefcmp:\n%s", wb, gb)
	}
}

// peerCompare collects the disagreements between two reports.
type peerCompare struct{ errs []string }

func (pc *peerCompare) errorf(format string, args ...any) {
	pc.errs = append(pc.errs, fmt.Sprintf(format, args...))
}

const (
	peerRel = 1e-9  // relative tolerance of float statistics
	peerAbs = 1e-12 // absolute tolerance, times the tensor's magnitude
)

func (pc *peerCompare) report(prefix string, want, got map[string]any) {
	pc.exact(prefix+"pass", want["pass"], got["pass"])
	pc.exact(prefix+"first_failure", want["first_failure"], got["first_failure"])
	pc.exact(prefix+"ref_only", sortedStrings(want["ref_only"]), sortedStrings(got["ref_only"]))
	pc.exact(prefix+"ours_only", sortedStrings(want["ours_only"]), sortedStrings(got["ours_only"]))

	wt, _ := want["tensors"].([]any)
	gt, _ := got["tensors"].([]any)
	if len(wt) != len(gt) {
		pc.errorf("%stensors: %d pairs, want %d", prefix, len(gt), len(wt))
	}
	byName := map[string]map[string]any{}
	for _, x := range gt {
		if m, ok := x.(map[string]any); ok {
			if n, ok := m["name"].(string); ok {
				byName[n] = m
			}
		}
	}
	for i, x := range wt {
		w, _ := x.(map[string]any)
		name, _ := w["name"].(string)
		g := byName[name]
		if g == nil && len(wt) == 1 && len(gt) == 1 {
			// Two single tensors pair directly, whatever their names.
			g, _ = gt[0].(map[string]any)
		}
		if g == nil {
			pc.errorf("%stensor %q: missing from refcmp's report", prefix, name)
			continue
		}
		// Report order is execution order: the same on both sides.
		if i < len(gt) {
			if gi, _ := gt[i].(map[string]any); gi != nil && gi["name"] != w["name"] && len(wt) > 1 {
				pc.errorf("%stensors[%d]: %v, want %q (report order)", prefix, i, gi["name"], name)
			}
		}
		pc.tensor(fmt.Sprintf("%stensor %q: ", prefix, name), w, g)
	}
}

func (pc *peerCompare) tensor(p string, w, g map[string]any) {
	for _, k := range []string{"shape", "ref_dtype", "ours_dtype", "numel", "pass"} {
		pc.exact(p+k, w[k], g[k])
	}
	pc.exact(p+"shape_mismatch", w["shape_mismatch"] == true, g["shape_mismatch"] == true)
	scale := 0.0
	for _, side := range []string{"ref", "ours"} {
		ws, _ := w[side].(map[string]any)
		gs, _ := g[side].(map[string]any)
		if gs == nil {
			pc.errorf("%s%s: missing", p, side)
			continue
		}
		pc.exact(p+side+".nan", ws["nan"], gs["nan"])
		pc.exact(p+side+".inf", ws["inf"], gs["inf"])
		s := 0.0
		for _, k := range []string{"min", "max"} {
			if v, ok := peerFloat(ws[k]); ok && !math.IsNaN(v) {
				s = max(s, math.Abs(v))
			}
		}
		scale = max(scale, s)
		for _, k := range []string{"min", "max", "mean", "std"} {
			pc.float(p+side+"."+k, ws[k], gs[k], s)
		}
	}
	wt, _ := w["tolerance"].(map[string]any)
	gt, _ := g["tolerance"].(map[string]any)
	for _, k := range []string{"atol", "rtol"} {
		pc.float(p+"tolerance."+k, wt[k], gt[k], 0)
	}
	pc.exact(p+"tolerance.check", wt["check"], gt["check"])
	for _, k := range []string{"exact", "equal_nan"} {
		pc.exact(p+"tolerance."+k, wt[k] == true, gt[k] == true)
	}
	if w["shape_mismatch"] == true {
		pc.exact(p+"ours_shape", w["ours_shape"], g["ours_shape"])
		return
	}
	for _, k := range []string{"mismatched", "finite_pairs", "introduced"} {
		pc.exact(p+k, w[k], g[k])
	}
	for _, k := range []string{"max_abs_diff", "mean_abs_diff", "rmse"} {
		pc.float(p+k, w[k], g[k], scale)
	}
	for _, k := range []string{"max_rel_diff", "nmse", "mismatch_fraction"} {
		pc.float(p+k, w[k], g[k], 0)
	}
	pc.float(p+"cosine", w["cosine"], g["cosine"], 1)
	for _, k := range []string{"worst", "first_mismatch", "first_introduced"} {
		pc.element(p+k, w[k], g[k])
	}
}

// element compares {index, ref, ours} objects (or nulls): the index
// exactly, the values as float64 exactly (both are the decoded elements).
func (pc *peerCompare) element(p string, w, g any) {
	if w == nil || g == nil {
		if w != nil || g != nil {
			pc.errorf("%s: %v, want %v", p, g, w)
		}
		return
	}
	wm, _ := w.(map[string]any)
	gm, _ := g.(map[string]any)
	if gm == nil {
		pc.errorf("%s: %v, want an object", p, g)
		return
	}
	pc.exact(p+".index", wm["index"], gm["index"])
	for _, k := range []string{"ref", "ours"} {
		wv, wok := peerFloat(wm[k])
		gv, gok := peerFloat(gm[k])
		if !wok || !gok || !(wv == gv || math.IsNaN(wv) && math.IsNaN(gv)) {
			pc.errorf("%s.%s: %v, want %v", p, k, gm[k], wm[k])
		}
	}
}

// float compares two statistics: NaN matches NaN, an infinity the same
// infinity, finite values within peerRel relative or peerAbs*scale.
func (pc *peerCompare) float(p string, w, g any, scale float64) {
	wv, wok := peerFloat(w)
	gv, gok := peerFloat(g)
	if !wok || !gok {
		pc.errorf("%s: %v, want %v", p, g, w)
		return
	}
	switch {
	case math.IsNaN(wv) || math.IsNaN(gv):
		if !(math.IsNaN(wv) && math.IsNaN(gv)) {
			pc.errorf("%s: %v, want %v", p, g, w)
		}
	case math.IsInf(wv, 0) || math.IsInf(gv, 0):
		if wv != gv {
			pc.errorf("%s: %v, want %v", p, g, w)
		}
	default:
		if d := math.Abs(wv - gv); d > peerRel*max(math.Abs(wv), math.Abs(gv)) && d > peerAbs*scale {
			pc.errorf("%s: %.17g, want %.17g (|diff| %.3g)", p, gv, wv, d)
		}
	}
}

func (pc *peerCompare) exact(p string, w, g any) {
	if !reflect.DeepEqual(w, g) {
		pc.errorf("%s: %v, want %v", p, g, w)
	}
}

// peerFloat reads a JSON number or one of the strings "NaN", "Infinity",
// "-Infinity".
func peerFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		switch x {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
	}
	return 0, false
}

// sortedStrings turns a JSON list of strings (or null) into a sorted,
// non-nil slice.
func sortedStrings(v any) []string {
	out := []string{}
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	sort.Strings(out)
	return slices.Clip(out)
}

// realPeerCases are pairs of real files from ../shared/realdata, compared
// by refcmp and by numpy; paths are relative to the realdata directory.
var realPeerCases = []pairCase{
	{Name: "burn_mnist_st_vs_pt", Ref: "safetensors/burn_mnist_with_bn_scalars.safetensors", Ours: "pytorch/burn/mnist.pt",
		Pass: false, Needs: []string{"numpy", "torch"}, About: "same names, different training runs"},
	{Name: "safetensorsjl_sharded", Ref: "safetensors/SafeTensors.jl/non_sharded/model.safetensors",
		Ours: "safetensors/SafeTensors.jl/sharded/model.safetensors.index.json", Pass: true, Needs: []string{"numpy"},
		About: "every dtype incl. F8_E4M3, F8_E5M2, BF16; six shards vs one file"},
	{Name: "safetensorsjl_numpy_vs_torch", Ref: "safetensors/SafeTensors.jl/non_sharded/model.numpy.safetensors",
		Ours: "safetensors/SafeTensors.jl/non_sharded/model.safetensors", Pass: false, Needs: []string{"numpy"},
		About: "numpy writer lacks the bf16/f8 tensors: ours_only"},
	{Name: "npyio_c_vs_f", Ref: "numpy/npyio/data_float64_2x3_corder.npy", Ours: "numpy/npyio/data_float64_2x3_forder.npy",
		Pass: false, Needs: []string{"numpy"}, About: "same bytes, different logical arrays (the F file is the transpose)"},
	{Name: "npyio_npz_c_vs_f", Ref: "numpy/npyio/data_float64_corder.npz", Ours: "numpy/npyio/data_float64_forder.npz",
		Pass: false, Needs: []string{"numpy"}},
	{Name: "ndarray_le_vs_be_fortran", Ref: "numpy/ndarray-npy/example_f64_little_endian_standard.npy",
		Ours: "numpy/ndarray-npy/example_f64_big_endian_fortran.npy", Pass: true, Needs: []string{"numpy"}},
	{Name: "npyio_nans_inf", Ref: "numpy/npyio/nans_inf.npy", Ours: "numpy/npyio/nans_inf.npy",
		Pass: false, Needs: []string{"numpy"}, About: "NaN != NaN by default"},
	{Name: "npyio_nans_inf_equal_nan", Ref: "numpy/npyio/nans_inf.npy", Ours: "numpy/npyio/nans_inf.npy",
		Flags: []string{"--equal-nan"}, Pass: true, Needs: []string{"numpy"}},
	{Name: "candle_npy_vs_npz_member", Ref: "numpy/candle/test.npy", Ours: "numpy/candle/test.npz:x",
		Pass: true, Needs: []string{"numpy"}, About: "byte-identical tensor, one as a member (PATH:NAME)"},
	{Name: "whisper_mel_filters", Ref: "numpy/whisper/mel_filters.npz", Ours: "numpy/whisper/mel_filters.npz",
		Pass: true, Needs: []string{"numpy"}},
	{Name: "burn_bf16_vs_f16", Ref: "pytorch/burn/bfloat16.pt", Ours: "pytorch/burn/float16.pt",
		Pass: false, Needs: []string{"numpy", "torch"}, About: "mixed dtypes"},
	{Name: "burn_special_values", Ref: "pytorch/burn/special_values.pt", Ours: "pytorch/burn/special_values.pt",
		Flags: []string{"--equal-nan"}, Pass: true, Needs: []string{"numpy", "torch"}},
	{Name: "burn_extreme_values", Ref: "pytorch/burn/extreme_values.pt", Ours: "pytorch/burn/extreme_values.pt",
		Pass: true, Needs: []string{"numpy", "torch"}},
	{Name: "gopickle_bf16_legacy_vs_zip", Ref: "pytorch/gopickle/tensor_bfloat16_proto2.pt",
		Ours: "pytorch/gopickle/tensor_bfloat16_proto2_zip.pt", Pass: true, Needs: []string{"numpy", "torch"}},
}

// TestPeersRealData cross-checks refcmp with numpy on real files.
func TestPeersRealData(t *testing.T) {
	real := testenv.RealData(t)
	python, torch := testenv.FindPython("numpy", "torch")
	if !torch {
		python = testenv.Python(t, "numpy")
	}
	// One numpy_report process for all cases, through a manifest with
	// absolute paths.
	var cases []pairCase
	for _, c := range realPeerCases {
		c.Ref, c.Ours = filepath.Join(real, c.Ref), filepath.Join(real, c.Ours)
		cases = append(cases, c)
	}
	tmp := t.TempDir()
	b, err := json.Marshal(map[string]any{"cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "pairs.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	reports := numpyReportsAt(t, python, filepath.Join(root, "scripts", "numpy_report.py"), filepath.Join(tmp, "pairs.json"), torch)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			nc, ok := reports[c.Name]
			if !ok {
				testenv.Python(t, c.Needs...)
				t.Fatalf("numpy_report left out case %s", c.Name)
			}
			if want := map[bool]int{true: 0, false: 1}[c.Pass]; nc.Exit != want {
				t.Fatalf("numpy_report: exit %d, want %d: %s", nc.Exit, want, nc.Error)
			}
			got := refcmpTensors(t, "", c)
			comparePeerReports(t, nc.Report, got)
		})
	}
}
