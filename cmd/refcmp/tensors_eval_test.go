package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// evalDumpPy writes ref.npz (a [3, 64] activation and a [2, 8, 9, 9]
// attention score tensor, made by numpy) and eval.log: llama.cpp's
// eval-callback dump of the same tensors in common_debug_cb_eval's
// format (%12.4f values, the first and last 3 along each dimension,
// "sum = %.6f" accumulated in float32). argv[2] plants a bug: "value"
// (one printed value off by 0.01), "sum" (the sum off by 1), "shape".
const evalDumpPy = `
import sys, numpy as np
out, bug = sys.argv[1], sys.argv[2]
r = np.random.default_rng(7)
embd = (r.standard_normal((3, 64)) * 0.5).astype(np.float32)
kq = (r.standard_normal((2, 8, 9, 9)) * 3).astype(np.float32)
np.savez(out + "/ref.npz", inp_embd=embd, **{"kq-0": kq})

def dump(f, name, op, t, bug):
    ne = list(t.shape[::-1]) + [1] * (4 - t.ndim)
    if bug == "shape":
        ne[0] += 1
    t4 = t.reshape(ne[3], ne[2], ne[1], t.shape[-1])
    f.write("common_debug_cb_eval: %24s = (f32) %10s(src{1, 1, 1, 1}, }) = {%d, %d, %d, %d}\n" % (name, op, *ne))
    def sel(n):
        return (list(range(n)), None) if n <= 6 else (list(range(3)), list(range(n - 3, n)))
    def items(n, fn, gap):
        a, b = sel(n)
        for i in a: fn(i)
        if b is not None:
            f.write(gap)
            for i in b: fn(i)
    first = [True]
    for i3 in range(ne[3]):
        f.write("    [\n")
        def blk(i2):
            f.write("        [\n")
            def row(i1):
                vals = []
                a, b = sel(t.shape[-1])
                for i0 in a:
                    v = float(t4[i3, i2, i1, i0])
                    if bug == "value" and first[0]:
                        v += 0.01
                        first[0] = False
                    vals.append("%12.4f" % v)
                if b is not None:
                    vals.append("    ...")
                    vals += ["%12.4f" % float(t4[i3, i2, i1, i0]) for i0 in b]
                f.write("            [" + ", ".join(vals) + "  ],\n")
            items(ne[1], row, "            ..., \n")
            f.write("        ],\n")
        items(ne[2], blk, "        ..., \n")
        f.write("    ]\n")
    s = np.float32(0)
    for v in t.reshape(-1):
        s = np.float32(s + v)
    if bug == "sum":
        s += 1
    f.write("    sum = %.6f\n" % s)

with open(out + "/eval.log", "w") as f:
    f.write("llama_new_context_with_model: graph splits = 2\n")
    dump(f, "inp_embd", "GET_ROWS", embd, bug)
    dump(f, "kq-0", "MUL_MAT", kq, "")
    f.write("common_debug_cb_eval: %24s = (f32) %10s(src{1, 1, 1, 1}, }) = {4, 1, 1, 1}\n" % ("attn_norm-0", "MUL"))
    f.write("    [\n        [\n            [ 1.0000, 2.0000, 3.0000, 4.0000  ],\n        ],\n    ]\n    sum = 10.000000\n")
    f.write("llama_perf_context_print: load time = 1 ms\n")
`

func makeEvalDump(t *testing.T, py, bug string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), bug)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, "-c", evalDumpPy, dir, bug).CombinedOutput(); err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	return dir
}

// TestTensorsEvalLog: an eval-callback log against a full numpy
// reference compares only the shapes, printed values and sums, says so,
// and names each planted difference.
func TestTensorsEvalLog(t *testing.T) {
	py := testenv.Python(t, "numpy")
	d := makeEvalDump(t, py, "none")
	out := refcmpRun(t, 0, "tensors", d+"/ref.npz", d+"/eval.log")
	wantIn(t, out, "PASS: 0 of 2 dumped tensors differ (OURS is an eval-callback log: partial tensors",
		"inp_embd (GET_ROWS, line 2) vs inp_embd: pass; partial: 18 printed values and the sum compared of 192 elements",
		"kq-0 (MUL_MAT, line", "partial: 432 printed values and the sum compared of 1296 elements",
		"not compared: attn_norm-0")
	// The log as REF works the same way.
	refcmpRun(t, 0, "tensors", d+"/eval.log", d+"/ref.npz")
	// --map renames the log's (OURS) names.
	out = refcmpRun(t, 1, "tensors", d+"/ref.npz", d+"/eval.log", "--map", "^attn_norm-0$=inp_embd", "--ignore", "kq-0")
	wantIn(t, out, "attn_norm-0 (MUL, line 127) vs inp_embd: FAIL: shape [4] (PyTorch order) vs [3 64]")

	d = makeEvalDump(t, py, "value")
	out = refcmpRun(t, 1, "tensors", d+"/ref.npz", d+"/eval.log")
	wantIn(t, out, "FAIL: 1 of 2 dumped tensors differ", "inp_embd (GET_ROWS, line 2) vs inp_embd: FAIL", "value [0 0]: printed")
	d = makeEvalDump(t, py, "sum")
	out = refcmpRun(t, 1, "tensors", d+"/ref.npz", d+"/eval.log", "--format", "json")
	wantIn(t, out, `"sum_ok": false`, `"log_side": "ours"`)
	d = makeEvalDump(t, py, "shape")
	out = refcmpRun(t, 1, "tensors", d+"/ref.npz", d+"/eval.log")
	wantIn(t, out, "FAIL: shape [3 65] (PyTorch order) vs [3 64]")
	// Nothing in common: exit 2 naming --map.
	out = refcmpRun(t, 2, "tensors", d+"/ref.npz", d+"/eval.log", "--ignore", "inp_embd", "--ignore", "kq-0")
	wantIn(t, out, "rename with --map")
}
