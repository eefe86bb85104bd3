package tensorfile

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/ggufwrite"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// TestGGUFDTypeBlocks: every known ggml type maps to a DType, block types
// with ggml's block size and bytes.
func TestGGUFDTypeBlocks(t *testing.T) {
	for n := gguf.Type(0); n < 64; n++ {
		d, ok := GGUFDType(n)
		if !n.Known() {
			if ok {
				t.Errorf("type(%d): mapped to %v", n, d)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: not mapped", n)
			continue
		}
		if n.BlockSize() == 1 {
			if d.IsBlock() || d.Size() != n.BlockBytes() {
				t.Errorf("%s -> %s: size %d, want %d", n, d, d.Size(), n.BlockBytes())
			}
			continue
		}
		if e, b := d.Block(); e != n.BlockSize() || b != n.BlockBytes() || d.String() != n.String() || d.Size() != 0 {
			t.Errorf("%s -> %s: block %d/%d, want %d/%d", n, d, e, b, n.BlockSize(), n.BlockBytes())
		}
		if p, err := tensor.ParseDType(strings.ToLower(n.String())); err != nil || p != d {
			t.Errorf("ParseDType(%q) = %v, %v", strings.ToLower(n.String()), p, err)
		}
	}
}

// blocks makes nb random blocks of t with finite f16 scales (the first
// bytes of every block type used here are its f16 scales).
func blocks(t gguf.Type, nb int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	bb := t.BlockBytes()
	out := make([]byte, nb*bb)
	for i := range out {
		out[i] = byte(r.IntN(256))
	}
	for b := 0; b < nb; b++ {
		binary.LittleEndian.PutUint16(out[b*bb:], 0x2000+uint16(r.IntN(0x800))) // ~2^-7
		if t == gguf.Q4_K || t == gguf.Q5_K || t == gguf.Q2_K || t == gguf.Q4_1 || t == gguf.Q5_1 {
			binary.LittleEndian.PutUint16(out[b*bb+2:], 0x1c00+uint16(r.IntN(0x400)))
		}
		if t == gguf.Q6_K { // d is the last two bytes
			binary.LittleEndian.PutUint16(out[b*bb+bb-2:], 0x2000+uint16(r.IntN(0x800)))
		}
		if t == gguf.Q3_K {
			binary.LittleEndian.PutUint16(out[b*bb+bb-2:], 0x2000+uint16(r.IntN(0x800)))
		}
	}
	return out
}

func writeGGUF(t *testing.T, kvs []ggufwrite.KV, ts []ggufwrite.Tensor) string {
	t.Helper()
	b, err := ggufwrite.Encode(kvs, ts)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.WriteFile(t, t.TempDir(), "m.gguf", b)
}

// TestGGUFDecodedView: a quantized tensor reads as F32 bytes equal to
// gguf.Dequantize of its blocks (bit-exact against ggml, tested in
// package gguf), whole or in pieces that start and end anywhere.
func TestGGUFDecodedView(t *testing.T) {
	types := []gguf.Type{gguf.Q8_0, gguf.Q4_0, gguf.Q4_1, gguf.Q5_0, gguf.Q5_1, gguf.Q2_K, gguf.Q3_K, gguf.Q4_K, gguf.Q5_K, gguf.Q6_K}
	var ts []ggufwrite.Tensor
	for i, ty := range types {
		rows := 3 + i
		ts = append(ts, ggufwrite.Tensor{Name: "t." + ty.String(), Dims: []uint64{512, uint64(rows)}, Type: uint32(ty), Data: blocks(ty, rows*512/ty.BlockSize(), uint64(i))})
	}
	ts = append(ts, ggufwrite.Tensor{Name: "iq", Dims: []uint64{256}, Type: uint32(gguf.IQ2_XS), Data: make([]byte, 74)})
	path := writeGGUF(t, nil, ts)
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Format != FormatGGUF || len(c.Tensors) != len(types) {
		t.Fatalf("format %s, %d tensors", c.Format, len(c.Tensors))
	}
	if !slices.ContainsFunc(c.Notes, func(n string) bool {
		return strings.Contains(n, "iq (IQ2_XS)") && strings.Contains(n, "does not decode")
	}) {
		t.Errorf("no note on the IQ2_XS tensor left out: %q", c.Notes)
	}
	for i, tn := range c.Tensors {
		ty := types[i]
		want := make([]float32, (3+i)*512)
		if err := gguf.Dequantize(ty, binary.LittleEndian, ts[i].Data, want); err != nil {
			t.Fatal(err)
		}
		if tn.DType != tensor.F32 || tn.Stored.String() != ty.String() || !slices.Equal(tn.Shape, []int64{int64(3 + i), 512}) {
			t.Fatalf("%s: %s stored %s %v", tn.Name, tn.DType, tn.Stored, tn.Shape)
		}
		got := readAll(t, tn)
		for k, w := range want {
			if g := math.Float32frombits(binary.LittleEndian.Uint32(got[4*k:])); math.Float32bits(g) != math.Float32bits(w) {
				t.Fatalf("%s[%d] = %v, want %v", tn.Name, k, g, w)
			}
		}
		for _, r := range [][2]int64{{1, 7}, {4*255 + 2, 9}, {4 * 300, 4 * 40}, {int64(len(got)) - 3, 3}} {
			p := make([]byte, r[1])
			n, err := tn.Data.ReadAt(p, r[0])
			if n != len(p) || (err != nil && err != io.EOF) || !slices.Equal(p, got[r[0]:r[0]+r[1]]) {
				t.Errorf("%s: ReadAt(%d, %d) = %d, %v", tn.Name, r[0], r[1], n, err)
			}
		}
		if n, err := tn.Data.ReadAt(make([]byte, 8), int64(len(got))-4); n != 4 || err != io.EOF {
			t.Errorf("%s: read past the end = %d, %v", tn.Name, n, err)
		}
	}
}

// TestGGUFStories: the real stories260K.gguf lists its 48 tensors in file
// order, with PyTorch-order shapes (gguf.cpp's facts are checked against
// package gguf in its oracle test), and opens with readable data.
func TestGGUFStories(t *testing.T) {
	root := testenv.RealData(t)
	path := filepath.Join(root, "gguf", "stories260K.gguf")
	l, err := List(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Weights) != 48 || len(f.Tensors) != 48 || !slices.Contains(l.Notes, GGUFShapeNote) {
		t.Fatalf("%d weights, notes %q", len(l.Weights), l.Notes)
	}
	for i, w := range l.Weights {
		ti := f.Tensors[i]
		rev := slices.Clone(ti.Dims)
		slices.Reverse(rev)
		if w.Name != ti.Name || !slices.Equal(w.Shape, rev) || w.DType != tensor.F32 {
			t.Errorf("%d: %v, file has %s %v", i, w, ti.Name, ti.Dims)
		}
	}
	if w := l.Weights[0]; w.Name != "token_embd.weight" || !slices.Equal(w.Shape, []int64{512, 64}) {
		t.Errorf("first weight %v, want token_embd.weight [512 64]", w)
	}
	c := openT(t, path)
	defer c.Close()
	if len(c.Tensors) != 48 {
		t.Fatalf("Open: %d tensors", len(c.Tensors))
	}
	for _, tn := range c.Tensors {
		readAll(t, tn)
	}
}

// TestGGUFVocabOnlyAndMalformed: vocab-only files open with no tensors;
// mangled ones fail naming the file, as malformed GGUF.
func TestGGUFVocabOnlyAndMalformed(t *testing.T) {
	root := testenv.RealData(t)
	for _, name := range []string{"ggml-vocab-bert-bge.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf"} {
		path := filepath.Join(root, "gguf", name)
		l, err := List(path)
		if err != nil || len(l.Weights) != 0 {
			t.Errorf("%s: %d weights, %v", name, len(l.Weights), err)
		}
		c, err := Open(path, Options{})
		if err != nil || len(c.Tensors) != 0 || c.Format != FormatGGUF {
			t.Errorf("%s: Open: %v", name, err)
		}
		c.Close()
	}
	ents, _ := os.ReadDir(filepath.Join(root, "gguf", "malformed"))
	if len(ents) == 0 {
		t.Fatal("no malformed GGUF files")
	}
	for _, e := range ents {
		path := filepath.Join(root, "gguf", "malformed", e.Name())
		_, err := List(path)
		if err == nil || !errors.Is(err, gguf.ErrFormat) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: List error %v", e.Name(), err)
		}
		if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Open error %v", e.Name(), err)
		}
	}
}

// TestLlamaLogManifests: the loader's and the converter's tensor lines
// (excerpts in their real formats) are manifests, shapes in PyTorch order.
func TestLlamaLogManifests(t *testing.T) {
	for _, c := range []struct {
		file  string
		first tensor.Info
		n     int
	}{
		{"loader_v3.txt", tensor.Info{Name: "token_embd.weight", DType: tensor.Q4_0, Shape: []int64{128256, 4096}}, 5},
		{"convert.txt", tensor.Info{Name: "token_embd.weight", DType: tensor.BF16, Shape: []int64{128256, 4096}}, 5},
	} {
		l, err := List(filepath.Join("gguf", "testdata", "logs", c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if len(l.Weights) == 0 || !strings.Contains(strings.Join(l.Notes, ";"), "llama.cpp") {
			t.Fatalf("%s: %d weights, notes %q", c.file, len(l.Weights), l.Notes)
		}
		if len(l.Weights) != c.n || l.Weights[0].Name != c.first.Name || l.Weights[0].DType != c.first.DType || !slices.Equal(l.Weights[0].Shape, c.first.Shape) {
			t.Errorf("%s: %v", c.file, l.Weights)
		}
	}
	if _, err := List(filepath.Join("gguf", "testdata", "logs", "eval_callback.txt")); err == nil || !strings.Contains(err.Error(), "refcmp tensors") {
		t.Errorf("eval dump as a manifest: %v", err)
	}
}

// TestUnpermutedView: the view undoes llama.cpp's permute
// (w.reshape(n, 2, hd/2, cols).swapaxes(1, 2)), for reads of any range.
func TestUnpermutedView(t *testing.T) {
	const n, hd, cols = 3, 8, 5
	rows := n * hd
	hf := make([]float32, rows*cols)
	for i := range hf {
		hf[i] = float32(i)
	}
	// permute as numpy would: out[h, i, s] = w[h, s, i]
	perm := make(tensor.MemData, 4*rows*cols)
	for h := 0; h < n; h++ {
		for i := 0; i < hd/2; i++ {
			for s := 0; s < 2; s++ {
				dst, src := h*hd+2*i+s, h*hd+s*hd/2+i
				for c := 0; c < cols; c++ {
					binary.LittleEndian.PutUint32(perm[4*(dst*cols+c):], math.Float32bits(hf[src*cols+c]))
				}
			}
		}
	}
	v, err := unpermuted(tensor.Tensor{Name: "q", DType: tensor.F32, Shape: []int64{int64(rows), cols}, Data: perm}, n)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, v)
	for i, w := range hf {
		if g := math.Float32frombits(binary.LittleEndian.Uint32(got[4*i:])); g != w {
			t.Fatalf("element %d = %v, want %v", i, g, w)
		}
	}
	p := make([]byte, 4*cols*hd+6)
	if k, err := v.Data.ReadAt(p, 4*cols*3+2); k != len(p) || err != nil || !slices.Equal(p, got[4*cols*3+2:][:len(p)]) {
		t.Errorf("partial read across heads: %d, %v", k, err)
	}
	if _, err := unpermuted(tensor.Tensor{Shape: []int64{10, 4}, DType: tensor.F32}, 4); err == nil {
		t.Error("10 rows in 4 heads accepted")
	}
}
