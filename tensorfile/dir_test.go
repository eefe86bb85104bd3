package tensorfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/tensortest"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

// stBytes builds a safetensors file of F32 tensors given in order.
func stBytes(meta map[string]string, names []string, vals [][]float32) []byte {
	hdr := map[string]any{}
	if meta != nil {
		hdr["__metadata__"] = meta
	}
	var data []byte
	for i, n := range names {
		b := leF32(vals[i]...)
		hdr[n] = map[string]any{"dtype": "F32", "shape": []int{len(vals[i])}, "data_offsets": []int{len(data), len(data) + len(b)}}
		data = append(data, b...)
	}
	h, _ := json.Marshal(hdr)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(out, h...)
	return append(out, data...)
}

func names(c *Container) []string {
	var out []string
	for _, t := range c.Tensors {
		out = append(out, t.Name)
	}
	return out
}

func TestSafetensorsOrder(t *testing.T) {
	dir := t.TempDir()
	for meta, want := range map[string][]string{
		`["layers.10", "layers.2"]`: {"layers.10", "layers.2"},
		"b, a\nc":                   {"b", "a", "c"},
	} {
		p := testenv.WriteFile(t, dir, "o.safetensors", stBytes(map[string]string{OrderKey: meta}, []string{"a", "b"}, [][]float32{{1}, {2, 3}}))
		c := openT(t, p)
		if !slices.Equal(c.Order, want) || c.Ordered || c.Format != FormatSafetensors {
			t.Errorf("order %q: got %q", meta, c.Order)
		}
		// Tensors in offset order, with their data.
		if !slices.Equal(names(c), []string{"a", "b"}) || !slices.Equal(f32s(readAll(t, c.Tensors[1])), []float32{2, 3}) {
			t.Errorf("tensors %v", names(c))
		}
	}
	p := testenv.WriteFile(t, dir, "bad.safetensors", stBytes(map[string]string{OrderKey: `["a", 1]`}, []string{"a"}, [][]float32{{1}}))
	if _, err := Open(p, Options{}); err == nil || !strings.Contains(err.Error(), OrderKey) {
		t.Errorf("bad order: %v", err)
	}
	p = testenv.WriteFile(t, dir, "none.safetensors", stBytes(nil, []string{"a"}, [][]float32{{1}}))
	if c := openT(t, p); c.Order != nil {
		t.Errorf("no order: %q", c.Order)
	}
}

func TestDirectory(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteFile(t, dir, "a.npy", tensortest.Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", leF32(1, 2)))
	testenv.WriteFile(t, dir, "c.bin", leF32(5, 6, 7, 8))
	testenv.WriteFile(t, dir, "c.json", []byte(`{"dtype": "f32", "shape": [2, 2]}`))
	testenv.WriteFile(t, dir, "README.txt", []byte("not a tensor"))
	testenv.WriteFile(t, dir, "sub/w.safetensors", stBytes(nil, []string{"k"}, [][]float32{{9}}))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("x.npy")
	w.Write(tensortest.Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", leF32(3)))
	zw.Close()
	testenv.WriteFile(t, dir, "sub/b.npz", buf.Bytes())

	c := openT(t, dir)
	want := []string{"a.npy", "c.bin", "sub/b.npz/x", "sub/w.safetensors/k"}
	if c.Format != FormatDir || c.Single || !slices.Equal(names(c), want) {
		t.Fatalf("dir: %s %v", c.Format, names(c))
	}
	d := allData(t, c)
	if !slices.Equal(f32s(d["c.bin"]), []float32{5, 6, 7, 8}) || !slices.Equal(f32s(d["sub/b.npz/x"]), []float32{3}) {
		t.Errorf("data %v", d)
	}
	l, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ln []string
	for _, w := range l.Weights {
		ln = append(ln, w.Name)
	}
	if !slices.Equal(ln, want) || !slices.Equal(l.Weights[1].Shape, []int64{2, 2}) {
		t.Errorf("List: %v", l.Weights)
	}

	// A directory holding only safetensors files is one checkpoint.
	st := t.TempDir()
	testenv.WriteFile(t, st, "model-1.safetensors", stBytes(nil, []string{"p"}, [][]float32{{1}}))
	testenv.WriteFile(t, st, "model-2.safetensors", stBytes(nil, []string{"q"}, [][]float32{{2}}))
	testenv.WriteFile(t, st, "config.json", []byte(`{}`))
	// Hugging Face's side files do not make it a directory of dumps.
	testenv.WriteFile(t, st, "pytorch_model.bin", []byte("the same weights"))
	testenv.WriteFile(t, st, "training_args.bin", []byte("a pickle"))
	c = openT(t, st)
	if c.Format != FormatSafetensors || !slices.Equal(names(c), []string{"p", "q"}) {
		t.Errorf("safetensors dir: %s %v", c.Format, names(c))
	}

	// Errors name the file.
	bad := t.TempDir()
	p := testenv.WriteFile(t, bad, "x.pt", []byte("abc"))
	if _, err := Open(bad, Options{}); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("bad dir: %v", err)
	}
	if _, err := Open(t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "no tensor files") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestListManifestFallback(t *testing.T) {
	dir := t.TempDir()
	p := testenv.WriteFile(t, dir, "loaded.txt", []byte("model.embed.weight torch.Size([10, 4]) torch.float32\nlm_head.weight [4, 10]\n"))
	l, err := List(p)
	if err != nil || len(l.Weights) != 2 || l.Weights[0].DType != tensor.F32 || !slices.Equal(l.Weights[1].Shape, []int64{4, 10}) {
		t.Errorf("manifest: %+v %v", l, err)
	}
	// A broken checkpoint is not read as a manifest.
	p = testenv.WriteFile(t, dir, "broken.pt", []byte("abc"))
	if _, err := List(p); err == nil || !strings.Contains(err.Error(), "not a PyTorch checkpoint") {
		t.Errorf("broken.pt: %v", err)
	}
	// Nor is a raw file without a sidecar.
	p = testenv.WriteFile(t, dir, "x.bin", leF32(1, 2, 3))
	if _, err := List(p); err == nil || !strings.Contains(err.Error(), "sidecar") {
		t.Errorf("raw: %v", err)
	}
	// A safetensors file lists from its header.
	p = testenv.WriteFile(t, dir, "m.safetensors", stBytes(nil, []string{"a", "b"}, [][]float32{{1}, {2, 3}}))
	l, err = List(p)
	if err != nil || len(l.Weights) != 2 || l.Weights[1].Name != "b" || !slices.Equal(l.Weights[1].Shape, []int64{2}) || l.Weights[1].DType != tensor.F32 {
		t.Errorf("safetensors: %v %v", l.Weights, err)
	}
}
