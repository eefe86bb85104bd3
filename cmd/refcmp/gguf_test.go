package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// miniConv runs scripts/hf_to_gguf_mini.py: torch makes the checkpoint,
// ggml's own quantizer (libggml-base.so through ctypes) quantizes. It
// skips without torch or ggml unless REFCMP_PEERS=required.
type miniConv struct {
	t              *testing.T
	py, script, hf string
	dir            string
}

func newMiniConv(t *testing.T, arch string, flags ...string) *miniConv {
	t.Helper()
	py := testenv.Python(t, "numpy", "torch")
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	m := &miniConv{t: t, py: py, script: filepath.Join(root, "scripts", "hf_to_gguf_mini.py"), dir: t.TempDir()}
	if out, err := exec.Command(py, filepath.Join(root, "scripts", "ggml_oracle.py"), "lib").CombinedOutput(); err != nil {
		if os.Getenv("REFCMP_PEERS") == "required" {
			t.Fatalf("libggml-base.so not found (%s) and REFCMP_PEERS=required: install @node-llama-cpp/linux-x64 as .ci/run does", out)
		}
		t.Skip("libggml-base.so not found (set REFCMP_GGML_LIB or run the npm install in .ci/run)")
	}
	m.hf = filepath.Join(m.dir, "hf")
	m.script1(append([]string{"make-hf", m.hf, "--arch", arch}, flags...)...)
	return m
}

func (m *miniConv) script1(args ...string) {
	m.t.Helper()
	if out, err := exec.Command(m.py, append([]string{m.script}, args...)...).CombinedOutput(); err != nil {
		m.t.Fatalf("hf_to_gguf_mini %v: %v\n%s", args, err, out)
	}
}

// convert writes NAME.gguf and returns its path.
func (m *miniConv) convert(name string, flags ...string) string {
	m.t.Helper()
	p := filepath.Join(m.dir, name+".gguf")
	m.script1(append([]string{"convert", m.hf, p}, flags...)...)
	return p
}

func refcmpRun(t *testing.T, want int, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != want {
		t.Fatalf("refcmp %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

func wantIn(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

// TestGGUFConversionDoneWhen is issue 11's test: a llama-shaped
// checkpoint converted by llama.cpp's rules (F32 norms, F16 embedding,
// Q8_0 FFN and Q4_K attention by ggml's quantizer, Q/K permuted) passes
// 'refcmp weights' and 'refcmp tensors --preset llama'; each planted bug
// is named.
func TestGGUFConversionDoneWhen(t *testing.T) {
	m := newMiniConv(t, "llama")
	st := filepath.Join(m.hf, "model.safetensors")
	for _, outtype := range []string{"mixed", "f32", "f16", "q8_0", "q4_k"} {
		ok := m.convert("ok_"+outtype, "--outtype", outtype, "--rope-freqs")
		refcmpRun(t, exitOK, "weights", st, ok, "--preset", "llama")
		out := refcmpRun(t, exitOK, "tensors", st, ok, "--preset", "llama")
		wantIn(t, out, "PASS: 21 tensors match", "n_head 4, n_head_kv 2 from the GGUF metadata", "rope_freqs.weight")
	}
	ok := m.convert("ok_json")
	out := refcmpRun(t, exitOK, "tensors", st, ok, "--preset", "llama", "--format", "json")
	wantIn(t, out, `"ours_dtype": "Q4_K"`, `"expected": true`, `"ours_dtype": "Q8_0"`)

	drop := m.convert("drop", "--bug", "drop=blk.1.ffn_up.weight")
	wantIn(t, refcmpRun(t, exitDiff, "weights", st, drop, "--preset", "llama"), "1 missing", "model.layers.1.mlp.up_proj.weight")
	wantIn(t, refcmpRun(t, exitDiff, "tensors", st, drop, "--preset", "llama"), "model.layers.1.mlp.up_proj.weight")

	noperm := m.convert("noperm", "--bug", "no-permute=1")
	out = refcmpRun(t, exitDiff, "tensors", st, noperm, "--preset", "llama")
	wantIn(t, out, "model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight", "looks un-permuted for NORM RoPE")
	if strings.Contains(out, "model.layers.0.self_attn.q_proj.weight") {
		t.Errorf("layer 0 (permuted correctly) reported:\n%s", out)
	}

	swap := m.convert("swap", "--bug", "swap-layers=0,1")
	wantIn(t, refcmpRun(t, exitDiff, "tensors", st, swap, "--preset", "llama"),
		"layer 0's data matches layer 1's reference: layers 0 and 1 swapped", "layer 1's data matches layer 0's reference")

	g := newMiniConv(t, "gemma")
	gst := filepath.Join(g.hf, "model.safetensors")
	gok := g.convert("ok")
	refcmpRun(t, exitOK, "weights", gst, gok, "--preset", "gemma")
	refcmpRun(t, exitOK, "tensors", gst, gok, "--preset", "gemma")
	twice := g.convert("twice", "--bug", "gemma-plus-one-twice")
	wantIn(t, refcmpRun(t, exitDiff, "tensors", gst, twice, "--preset", "gemma"), "differs by exactly +1.0: Gemma norm offset applied twice")
}

// TestGGUFRealFiles: stories260K lists 48 tensors in PyTorch order, the
// vocab-only files open with none, the mangled files exit 2 naming the file.
func TestGGUFRealFiles(t *testing.T) {
	root := testenv.RealData(t)
	st := filepath.Join(root, "gguf", "stories260K.gguf")
	out := refcmpRun(t, exitOK, "inspect", st)
	wantIn(t, out, "48 tensors", "GGUF shapes in PyTorch order", "token_embd.weight", "[512 64]")
	wantIn(t, refcmpRun(t, exitOK, "weights", st, st, "--all"), "blk.{0..4}.ffn_down.weight", "[64 172]")
	refcmpRun(t, exitOK, "inspect", "--stats", st)
	refcmpRun(t, exitOK, "tensors", st, st)
	wantIn(t, refcmpRun(t, exitOK, "inspect", filepath.Join(root, "gguf", "ggml-vocab-llama-spm.gguf")), "0 tensors")
	ents, _ := os.ReadDir(filepath.Join(root, "gguf", "malformed"))
	for _, e := range ents {
		p := filepath.Join(root, "gguf", "malformed", e.Name())
		for _, args := range [][]string{{"inspect", p}, {"weights", p, st}, {"tensors", st, p}} {
			wantIn(t, refcmpRun(t, exitError, args...), p)
		}
	}
}
