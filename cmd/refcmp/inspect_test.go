package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/golden"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

// numpyStats reads a safetensors file with numpy and prints, per tensor,
// what a golden record keeps: statistics of the finite values (float64,
// population std), NaN/Inf counts, the SHA-256 of the data bytes and the
// values at the offsets given (from refcmp's record). BF16 widens exactly
// to float32; float8 tensors, which numpy lacks, are left out.
const numpyStats = `
import hashlib, json, struct, sys
import numpy as np
path, offsets = sys.argv[1], json.loads(sys.argv[2])
DT = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
      "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
def num(x):
    x = float(x)
    if x != x: return "NaN"
    if x in (float("inf"), float("-inf")): return "Infinity" if x > 0 else "-Infinity"
    return x
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(n))
    data = f.read()
out = {}
for name, e in hdr.items():
    if name == "__metadata__" or e["dtype"] not in DT and e["dtype"] != "BF16":
        continue
    raw = data[e["data_offsets"][0]:e["data_offsets"][1]]
    if e["dtype"] == "BF16":
        a = (np.frombuffer(raw, "<u2").astype("<u4") << 16).view("<f4")
    else:
        a = np.frombuffer(raw, DT[e["dtype"]])
    a = a.astype(np.float64)
    fin = a[np.isfinite(a)]
    r = {"sha256": hashlib.sha256(raw).hexdigest(), "nan": int(np.isnan(a).sum()), "inf": int(np.isinf(a).sum()),
         "samples": [num(a[o]) for o in offsets.get(name, [])], "scale": num(np.abs(fin).max()) if fin.size else 0}
    if fin.size:
        r.update(min=num(fin.min()), max=num(fin.max()), mean=num(fin.mean()), std=num(fin.std()))
    else:
        r.update(min="NaN", max="NaN", mean="NaN", std="NaN")
    out[name] = r
json.dump(out, sys.stdout)
`

// TestGoldenAgainstNumpy records golden files with refcmp and checks every
// number against numpy's on the same files: counts and hashes exactly,
// statistics within 1e-9 relative to the tensor's scale, sampled values
// exactly; and inspect --stats reports the same statistics.
func TestGoldenAgainstNumpy(t *testing.T) {
	py := testenv.Python(t, "numpy")
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files := []string{
		filepath.Join(root, "testdata", "porting", "ref_activations.safetensors"),
		filepath.Join(root, "testdata", "porting", "model.safetensors"),
	}
	t.Run("porting", func(t *testing.T) { checkGoldenNumpy(t, py, files) })
	t.Run("realdata", func(t *testing.T) {
		rd := testenv.RealData(t)
		checkGoldenNumpy(t, py, []string{
			filepath.Join(rd, "safetensors", "SafeTensors.jl", "non_sharded", "model.safetensors"),
			filepath.Join(rd, "safetensors", "burn_mnist_with_bn_scalars.safetensors"),
		})
	})
}

func checkGoldenNumpy(t *testing.T, py string, files []string) {
	t.Helper()
	for _, f := range files {
		var out, errb bytes.Buffer
		if code := run([]string{"golden", "record", f}, &out, &errb); code != exitOK {
			t.Fatalf("golden record %s: exit %d: %s", f, code, errb.String())
		}
		g, err := golden.Parse(out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		offsets := map[string][]int64{}
		for _, tt := range g.Tensors {
			for _, s := range tt.Samples {
				offsets[tt.Name] = append(offsets[tt.Name], s.Offset)
			}
		}
		arg, _ := json.Marshal(offsets)
		cmd := exec.Command(py, "-c", numpyStats, f, string(arg))
		cmd.Stderr = os.Stderr
		npOut, err := cmd.Output()
		if err != nil {
			t.Fatalf("numpy on %s: %v", f, err)
		}
		var want map[string]struct {
			SHA256              string
			NaN, Inf            int64
			Min, Max, Mean, Std tensor.Float
			Scale               tensor.Float
			Samples             []tensor.Float
		}
		if err := json.Unmarshal(npOut, &want); err != nil {
			t.Fatalf("numpy output: %v\n%s", err, npOut)
		}

		out.Reset()
		if code := run([]string{"inspect", "--stats", "--format", "json", f}, &out, &errb); code != exitOK {
			t.Fatalf("inspect --stats %s: exit %d: %s", f, code, errb.String())
		}
		var ins inspectReport
		if err := json.Unmarshal(out.Bytes(), &ins); err != nil {
			t.Fatal(err)
		}
		inspected := map[string]*diffing.SideStats{}
		for _, it := range ins.Tensors {
			inspected[it.Name] = it.Stats
		}

		checked := 0
		for _, tt := range g.Tensors {
			w, ok := want[tt.Name]
			if !ok {
				continue // float8: numpy has no such dtype
			}
			checked++
			where := filepath.Base(f) + ": " + tt.Name
			if tt.SHA256 != w.SHA256 || tt.Stats.NaN != w.NaN || tt.Stats.Inf != w.Inf {
				t.Errorf("%s: sha256 %s nan %d inf %d, numpy %s %d %d", where, tt.SHA256, tt.Stats.NaN, tt.Stats.Inf, w.SHA256, w.NaN, w.Inf)
			}
			scale := math.Abs(float64(w.Scale))
			near := func(what string, got, want tensor.Float) {
				g, n := float64(got), float64(want)
				if math.IsNaN(g) && math.IsNaN(n) {
					return
				}
				if !(math.Abs(g-n) <= 1e-9*max(math.Abs(n), scale)) {
					t.Errorf("%s: %s %v, numpy %v", where, what, g, n)
				}
			}
			near("min", tt.Stats.Min, w.Min)
			near("max", tt.Stats.Max, w.Max)
			near("mean", tt.Stats.Mean, w.Mean)
			near("std", tt.Stats.Std, w.Std)
			if len(tt.Samples) != len(w.Samples) {
				t.Errorf("%s: %d samples, numpy read %d", where, len(tt.Samples), len(w.Samples))
			} else {
				for i, s := range tt.Samples {
					if s.Value != w.Samples[i] && !(math.IsNaN(float64(s.Value)) && math.IsNaN(float64(w.Samples[i]))) {
						t.Errorf("%s: value at offset %d: %v, numpy %v", where, s.Offset, s.Value, w.Samples[i])
					}
				}
			}
			if st := inspected[tt.Name]; st == nil || !sameSideStats(*st, tt.Stats) {
				t.Errorf("%s: inspect --stats %+v, golden record %+v", where, st, tt.Stats)
			}
		}
		if checked == 0 {
			t.Errorf("%s: no tensor checked", f)
		}
		t.Logf("%s: %d tensors agree with numpy", filepath.Base(f), checked)
	}
}

func sameSideStats(a, b diffing.SideStats) bool {
	eq := func(x, y tensor.Float) bool {
		return x == y || (math.IsNaN(float64(x)) && math.IsNaN(float64(y)))
	}
	return eq(a.Min, b.Min) && eq(a.Max, b.Max) && eq(a.Mean, b.Mean) && eq(a.Std, b.Std) && a.NaN == b.NaN && a.Inf == b.Inf
}
