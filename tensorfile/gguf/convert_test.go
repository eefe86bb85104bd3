package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// mini runs scripts/hf_to_gguf_mini.py (torch builds the checkpoint,
// ggml quantizes) and returns the HF dir and the GGUF path.
type mini struct {
	t             *testing.T
	python, root  string
	dir           string
	hfDir, config string
}

func newMini(t *testing.T, arch string) *mini {
	t.Helper()
	newOracle(t)
	py := testenv.Python(t, "numpy", "torch")
	root, _ := testenv.ModuleRoot()
	m := &mini{t: t, python: py, root: root, dir: t.TempDir()}
	m.hfDir = filepath.Join(m.dir, "hf")
	m.script("make-hf", m.hfDir, "--arch", arch)
	return m
}

func (m *mini) script(args ...string) {
	m.t.Helper()
	cmd := exec.Command(m.python, append([]string{filepath.Join(m.root, "scripts", "hf_to_gguf_mini.py")}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		m.t.Fatalf("hf_to_gguf_mini %v: %v\n%s", args, err, out)
	}
}

// convert writes name.gguf with the given converter flags and opens it.
func (m *mini) convert(name string, flags ...string) (*File, string) {
	m.t.Helper()
	p := filepath.Join(m.dir, name+".gguf")
	m.script(append([]string{"convert", m.hfDir, p}, flags...)...)
	f, err := Open(p)
	if err != nil {
		m.t.Fatal(err)
	}
	return f, p
}

// hf reads one float32 tensor of the HF checkpoint (shape, values).
func (m *mini) hf(name string) ([]int64, []float32) {
	m.t.Helper()
	b, err := os.ReadFile(filepath.Join(m.hfDir, "model.safetensors"))
	if err != nil {
		m.t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		m.t.Fatal(err)
	}
	var e struct {
		Dtype   string   `json:"dtype"`
		Shape   []int64  `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(hdr[name], &e); err != nil || e.Dtype != "F32" {
		m.t.Fatalf("%s: %v %s", name, err, e.Dtype)
	}
	raw := b[8+int64(n)+e.Offsets[0] : 8+int64(n)+e.Offsets[1]]
	v := make([]float32, len(raw)/4)
	Dequantize(F32, binary.LittleEndian, raw, v)
	return e.Shape, v
}

// hfNames lists the HF checkpoint's tensor names.
func (m *mini) hfNames() map[string]bool {
	m.t.Helper()
	b, err := os.ReadFile(filepath.Join(m.hfDir, "model.safetensors"))
	if err != nil {
		m.t.Fatal(err)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+binary.LittleEndian.Uint64(b)], &hdr); err != nil {
		m.t.Fatal(err)
	}
	names := map[string]bool{}
	for k := range hdr {
		names[k] = true
	}
	return names
}

// checkPreset: every GGUF tensor maps to an HF tensor of the checkpoint
// (or is a generated extra), and every HF tensor maps to a GGUF tensor
// of the file (or is dropped, or is a tied head).
func checkPreset(t *testing.T, m *mini, f *File, preset string) {
	t.Helper()
	p, err := BuiltinPreset(preset)
	if err != nil {
		t.Fatal(err)
	}
	hf := m.hfNames()
	for _, ti := range f.Tensors {
		h, ok := p.ToHF(ti.Name)
		if !(ok && hf[h.Name]) && !p.Extra(ti.Name) {
			t.Errorf("%s: GGUF %s -> %q, not in the checkpoint", preset, ti.Name, h.Name)
		}
	}
	for name := range hf {
		if p.Dropped(name) {
			continue
		}
		g, ok := p.ToGGUF(name)
		if !ok {
			t.Errorf("%s: HF %s has no rule", preset, name)
		} else if _, in := f.Tensor(g.Name); !in {
			t.Errorf("%s: HF %s -> %s, not in the GGUF", preset, name, g.Name)
		}
	}
}

// permuteRows applies llama.cpp's Q/K permutation to a [rows, cols]
// matrix: reshape(nHead, 2, rows/nHead/2, cols).swapaxes(1, 2).
func permuteRows(w []float32, rows, cols, nHead int) []float32 {
	out := make([]float32, len(w))
	half := rows / nHead / 2
	for h := 0; h < nHead; h++ {
		for i := 0; i < half; i++ {
			for two := 0; two < 2; two++ {
				src := h*2*half + two*half + i // row in (h, two, i)
				dst := h*2*half + i*2 + two    // row in (h, i, two)
				copy(out[dst*cols:(dst+1)*cols], w[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}

func decodeAll(t *testing.T, f *File, path, name string) []float32 {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("%s: no tensor %s", path, name)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	out := make([]float32, 0, ti.Elements)
	if err := f.Decode(fh, ti, 1000, func(start int64, v []float32) error {
		if start != int64(len(out)) {
			t.Fatalf("chunk at %d, want %d", start, len(out))
		}
		out = append(out, v...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func nmse(ref, got []float32) float64 {
	var num, den float64
	for i := range ref {
		e := float64(ref[i]) - float64(got[i])
		num += e * e
		den += float64(ref[i]) * float64(ref[i])
	}
	return num / den
}

// TestMiniConverterLlama: the converter's GGUF is read by gguf.cpp with the
// same facts as ours, carries F32, F16, Q8_0 and Q4_K tensors, and its
// values are the HF ones under llama.cpp's rules (Q/K permuted, within the
// measured quantization band); each planted bug shows in the data.
func TestMiniConverterLlama(t *testing.T) {
	m := newMini(t, "llama")
	o := newOracle(t)
	f, p := m.convert("good", "--rope-freqs")
	of, err := o.facts(t, p)
	if err != nil {
		t.Fatalf("ggml refuses the converter's output: %v", err)
	}
	checkFacts(t, f, of)
	checkPreset(t, m, f, "llama")
	checkPreset(t, m, f, "mistral")
	if len(f.Tensors) != 22 {
		t.Errorf("%d tensors, want 22 (2 layers x 9, embd, output, output_norm, rope_freqs)", len(f.Tensors))
	}
	types := map[Type]bool{}
	for _, ti := range f.Tensors {
		types[ti.Type] = true
		if len(ti.Dims) == 1 && ti.Type != F32 {
			t.Errorf("%s: 1-D tensor stored as %s", ti.Name, ti.Type)
		}
	}
	for _, ty := range []Type{F32, F16, Q8_0, Q4_K} {
		if !types[ty] {
			t.Errorf("no %s tensor", ty)
		}
	}
	q, _ := f.Tensor("blk.0.attn_q.weight")
	k, _ := f.Tensor("blk.0.attn_k.weight")
	if sq := q.Shape(); sq[0] != 256 || sq[1] != 256 || k.Shape()[0] != 128 {
		t.Errorf("PyTorch shapes q %v k %v", q.Shape(), k.Shape())
	}
	band := func(ty Type) float64 { b, _ := QuantErrorOf(ty); return 2 * b.Max }
	_, wq := m.hf("model.layers.0.self_attn.q_proj.weight")
	_, wk := m.hf("model.layers.0.self_attn.k_proj.weight")
	gq := decodeAll(t, f, p, "blk.0.attn_q.weight")
	gk := decodeAll(t, f, p, "blk.0.attn_k.weight")
	if e := nmse(permuteRows(wq, 256, 256, 4), gq); e > band(Q4_K) {
		t.Errorf("attn_q NMSE %g vs permuted HF, band %g", e, band(Q4_K))
	}
	if e := nmse(permuteRows(wk, 128, 256, 2), gk); e > band(Q4_K) {
		t.Errorf("attn_k NMSE %g vs permuted (n_kv_head) HF, band %g", e, band(Q4_K))
	}
	if e := nmse(wq, gq); e < 1 {
		t.Errorf("attn_q is close to the un-permuted HF (NMSE %g): the permute did nothing", e)
	}
	_, gate := m.hf("model.layers.1.mlp.gate_proj.weight")
	if e := nmse(gate, decodeAll(t, f, p, "blk.1.ffn_gate.weight")); e > band(Q8_0) {
		t.Errorf("ffn_gate Q8_0 NMSE %g, band %g", e, band(Q8_0))
	}
	_, emb := m.hf("model.embed_tokens.weight")
	if e := nmse(emb, decodeAll(t, f, p, "token_embd.weight")); e > band(F16) {
		t.Errorf("token_embd F16 NMSE %g", e)
	}
	_, norm := m.hf("model.layers.1.input_layernorm.weight")
	if g := decodeAll(t, f, p, "blk.1.attn_norm.weight"); !equalF32(norm, g) {
		t.Errorf("attn_norm not stored exactly as F32")
	}

	// Planted bugs.
	d, _ := m.convert("drop", "--bug", "drop=blk.1.ffn_up.weight")
	if _, ok := d.Tensor("blk.1.ffn_up.weight"); ok || len(d.Tensors) != 20 {
		t.Errorf("drop: %d tensors", len(d.Tensors))
	}
	np, npp := m.convert("noperm", "--bug", "no-permute=1")
	_, wq1 := m.hf("model.layers.1.self_attn.q_proj.weight")
	if e := nmse(wq1, decodeAll(t, np, npp, "blk.1.attn_q.weight")); e > band(Q4_K) {
		t.Errorf("no-permute=1: layer 1 q NMSE %g vs un-permuted HF", e)
	}
	if e := nmse(permuteRows(wq, 256, 256, 4), decodeAll(t, np, npp, "blk.0.attn_q.weight")); e > band(Q4_K) {
		t.Errorf("no-permute=1 changed layer 0 (NMSE %g)", e)
	}
	sw, swp := m.convert("swap", "--bug", "swap-layers=0,1")
	if e := nmse(gate, decodeAll(t, sw, swp, "blk.0.ffn_gate.weight")); e > band(Q8_0) {
		t.Errorf("swap-layers: blk.0.ffn_gate is not HF layer 1 (NMSE %g)", e)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestMiniConverterGemma: norms are stored as w+1 (twice with the bug), the
// tied head is absent, and Q is not permuted (NEOX RoPE).
func TestMiniConverterGemma(t *testing.T) {
	m := newMini(t, "gemma")
	f, p := m.convert("good", "--outtype", "f32")
	if _, ok := f.Tensor("output.weight"); ok {
		t.Errorf("tied head written")
	}
	checkPreset(t, m, f, "gemma")
	if a, _ := f.Lookup("general.architecture"); a.Str != "gemma" {
		t.Errorf("architecture %q", a.Str)
	}
	_, norm := m.hf("model.layers.0.post_attention_layernorm.weight")
	g := decodeAll(t, f, p, "blk.0.ffn_norm.weight")
	for i := range norm {
		if g[i] != norm[i]+1 {
			t.Fatalf("ffn_norm[%d] = %g, HF %g + 1", i, g[i], norm[i])
		}
	}
	tw, twp := m.convert("twice", "--outtype", "f32", "--bug", "gemma-plus-one-twice")
	g = decodeAll(t, tw, twp, "blk.0.ffn_norm.weight")
	for i := range norm {
		if g[i] != norm[i]+2 {
			t.Fatalf("+1 twice: ffn_norm[%d] = %g, HF %g", i, g[i], norm[i])
		}
	}
	_, wq := m.hf("model.layers.0.self_attn.q_proj.weight")
	if !equalF32(wq, decodeAll(t, f, p, "blk.0.attn_q.weight")) {
		t.Errorf("gemma attn_q is not the HF q_proj as is")
	}
}

// TestDecodeHeaderOnly: a file cut off in its tensor data opens, and
// decoding a tensor that is not all there names the file and the tensor.
func TestDecodeHeaderOnly(t *testing.T) {
	b := build(binary.LittleEndian, 3, synthKVs(), synthTensors(), 32, false)
	cut := b[:len(b)-100]
	f, err := Read(bytes.NewReader(cut), int64(len(cut)), "cut.gguf", DefaultBudget())
	if err != nil || !f.DataMissing {
		t.Fatalf("%v %+v", err, f)
	}
	last := f.Tensors[len(f.Tensors)-1]
	err = f.Decode(bytes.NewReader(cut), last, 64, func(int64, []float32) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `cut.gguf: tensor "bf16"`) {
		t.Errorf("%v", err)
	}
	first := f.Tensors[0]
	n := 0
	if err := f.Decode(bytes.NewReader(cut), first, 100, func(_ int64, v []float32) error { n += len(v); return nil }); err != nil || n != 512 {
		t.Errorf("first tensor: %v, %d values", err, n)
	}
	if err := f.Decode(bytes.NewReader(cut), f.Tensors[3], 64, func(int64, []float32) error { return nil }); err == nil || !strings.Contains(err.Error(), "type(250)") {
		t.Errorf("unknown type: %v", err)
	}
}
