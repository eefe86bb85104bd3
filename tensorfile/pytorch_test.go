package tensorfile

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// torchFixtures saves, in zip and legacy form, checkpoints with strided
// views, offsets, shared and broadcast storages, every common dtype,
// nested containers with non-tensor values, and a whole nn.Module.
const torchFixtures = `
import collections, os, sys, torch
d = sys.argv[1]
g = torch.Generator().manual_seed(0)
base = torch.arange(20, dtype=torch.float32)
x = torch.randn(4, 4, generator=g)
cases = {
  'views': {'t': torch.arange(12.).reshape(3, 4).T, 'a': base[5:15], 'b': base[::2], 'c': base.view(4, 5)[:, 1:3],
            'x': x, 'row': x[1], 'col': x[:, 2], 'exp': torch.ones(3).expand(4, 3), 'perm': torch.randn(2, 3, 4, generator=g).permute(2, 0, 1)},
  'dtypes': {'bf16T': torch.arange(6, dtype=torch.bfloat16).reshape(2, 3).T, 'f16': torch.tensor([1.5, -2.0], dtype=torch.float16),
             'i32': torch.tensor([[1, -2], [3, 4]], dtype=torch.int32), 'u8': torch.tensor([255, 0], dtype=torch.uint8),
             'i16': torch.tensor([-7], dtype=torch.int16), 'i8': torch.tensor([-8], dtype=torch.int8),
             'b': torch.tensor([True, False]), 'scalar': torch.tensor(3.5), 'empty': torch.zeros(0, 3), 'f64': torch.tensor([1e300])},
  'nested': {'model': collections.OrderedDict([('layers', [torch.ones(2), torch.zeros(2)]), ('head', {'w': torch.eye(2)})]),
             'epoch': 3, 'name': 'run1', 1: torch.tensor([1.0])},
  'module': torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3)),
  'bare': torch.arange(6.).reshape(2, 3).T,
}
for name, obj in cases.items():
    torch.save(obj, os.path.join(d, name + '_zip.pt'))
    torch.save(obj, os.path.join(d, name + '_legacy.pt'), _use_new_zipfile_serialization=False)
`

// TestPyTorchGenerated saves the fixtures with torch, has torch load them
// back (one Python run), and checks Open against it byte for byte.
func TestPyTorchGenerated(t *testing.T) {
	py := testenv.Python(t, "numpy", "torch")
	dir := t.TempDir()
	script := torchFixtures + "\nimport glob\nsys.argv = [sys.argv[0]] + sorted(glob.glob(os.path.join(d, '*.pt')))\n" + oracleScript
	cmd := exec.Command(py, "-c", script, dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("making fixtures: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pt"))
	if len(files) != 10 {
		t.Fatalf("%d fixtures", len(files))
	}
	comparePeers(t, dir, files, out)

	for _, form := range []string{"zip", "legacy"} {
		c := openT(t, filepath.Join(dir, "nested_"+form+".pt"))
		var names []string
		for _, tn := range c.Tensors {
			names = append(names, tn.Name)
		}
		if want := []string{"model.layers.0", "model.layers.1", "model.head.w", "1"}; !slices.Equal(names, want) {
			t.Errorf("nested %s: names %v, want %v", form, names, want)
		}
		if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], `2 non-tensor values skipped: "epoch", "name"`) {
			t.Errorf("nested %s: notes %q", form, c.Notes)
		}
		c = openT(t, filepath.Join(dir, "module_"+form+".pt"))
		names = names[:0]
		for _, tn := range c.Tensors {
			names = append(names, tn.Name)
		}
		if want := []string{"0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var", "2.num_batches_tracked"}; !slices.Equal(names, want) {
			t.Errorf("module %s: names %v, want %v", form, names, want)
		}
		if c := openT(t, filepath.Join(dir, "bare_"+form+".pt")); !c.Single || c.Tensors[0].Name != "bare_"+form+".pt" {
			t.Errorf("bare %s: single %v name %q", form, c.Single, c.Tensors[0].Name)
		}
	}
	t.Run("zip variants", func(t *testing.T) { zipVariants(t, dir) })
	t.Run("sharded index", func(t *testing.T) { shardedIndex(t, dir) })
}

// shardedIndex builds a Hugging Face style sharded .bin checkpoint from
// two fixtures and opens it by index and by directory.
func shardedIndex(t *testing.T, src string) {
	dir := t.TempDir()
	a := openT(t, filepath.Join(src, "views_zip.pt"))
	b := openT(t, filepath.Join(src, "nested_legacy.pt"))
	shard := map[string]string{}
	var wm []string
	var want []string
	for i, c := range []*Container{a, b} {
		f := []string{"pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"}[i]
		raw, err := os.ReadFile(c.Source)
		if err != nil {
			t.Fatal(err)
		}
		testenv.WriteFile(t, dir, f, raw)
		for _, tn := range c.Tensors {
			shard[tn.Name] = f
			wm = append(wm, fmt.Sprintf("%q: %q", tn.Name, f))
			want = append(want, tn.Name)
		}
	}
	index := testenv.WriteFile(t, dir, "pytorch_model.bin.index.json", []byte(`{"metadata": {"total_size": 1}, "weight_map": {`+strings.Join(wm, ", ")+`}}`))
	testenv.WriteFile(t, dir, "config.json", []byte(`{}`))
	for _, p := range []string{index, dir} {
		c := openT(t, p)
		if c.Format != FormatPyTorchIndex || !c.Ordered || !slices.Equal(names(c), want) {
			t.Fatalf("%s: %s %v", p, c.Format, names(c))
		}
		got := allData(t, c)
		for k, v := range allData(t, a) {
			if !bytes.Equal(got[k], v) {
				t.Errorf("%s: %s differs", p, k)
			}
		}
		l, err := List(p)
		if err != nil || len(l.Weights) != len(want) || l.Weights[0].Shape == nil {
			t.Errorf("List %s: %v %v", p, l, err)
		}
	}
	bad := func(body, want string) {
		t.Helper()
		p := testenv.WriteFile(t, dir, "bad.bin.index.json", []byte(body))
		if _, err := Open(p, Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", body, err, want)
		}
	}
	bad(`{"weight_map": {"a": "pytorch_model-00001-of-00002.bin", "t": "pytorch_model-00002-of-00002.bin"}}`, `tensor "t" is in pytorch_model-00001`)
	bad(`{"weight_map": {"nope": "pytorch_model-00001-of-00002.bin"}}`, `tensor "nope" is not in its shard`)
	bad(`{"weight_map": {"t": "pytorch_model-00001-of-00002.bin", "u": "gone.bin"}}`, "shard files absent: gone.bin")
	bad(`{"weight_map": {"t": "../x.bin"}}`, "not a file name beside the index")
	// All shards absent: List gives the names without shapes.
	p := testenv.WriteFile(t, t.TempDir(), "pytorch_model.bin.index.json", []byte(`{"weight_map": {"b": "x.bin", "a": "y.bin"}}`))
	l, err := List(p)
	if err != nil || len(l.Weights) != 2 || l.Weights[0].Name != "b" || l.Weights[0].Shape != nil || len(l.Notes) != 1 {
		t.Errorf("absent shards: %+v %v", l, err)
	}
	if _, err := Open(p, Options{}); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("absent shards Open: %v", err)
	}
}

// rewriteZip copies a zip archive, letting edit change each member's
// name, method and bytes (edit returns ok=false to drop it).
func rewriteZip(t *testing.T, src string, edit func(name string, b []byte) (string, uint16, []byte, bool), extra map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		name, method, nb, ok := edit(zf.Name, b)
		if !ok {
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(nb)
	}
	for name, b := range extra {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	zw.Close()
	return buf.Bytes()
}

// zipVariants rewrites a zip checkpoint: big-endian, deflated, another
// prefix give the same tensors; damaged copies give errors.
func zipVariants(t *testing.T, dir string) {
	src := filepath.Join(dir, "views_zip.pt")
	want := allData(t, openT(t, src))
	same := func(name string, b []byte) {
		t.Helper()
		p := testenv.WriteFile(t, dir, name, b)
		got := allData(t, openT(t, p))
		if len(got) != len(want) {
			t.Fatalf("%s: %d tensors, want %d", name, len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Errorf("%s: tensor %s differs", name, k)
			}
		}
	}
	// Big-endian storages (every storage here is F32) with a byteorder record.
	same("big.pt", rewriteZip(t, src, func(name string, b []byte) (string, uint16, []byte, bool) {
		if strings.Contains(name, "/data/") {
			b = slices.Clone(b)
			swapInPlace(b, 4)
		}
		return name, zip.Store, b, !strings.HasSuffix(name, "/byteorder")
	}, map[string][]byte{"views_zip/byteorder": []byte("big")}))
	// Deflated members and another prefix.
	same("deflated.pt", rewriteZip(t, src, func(name string, b []byte) (string, uint16, []byte, bool) {
		return "archive/" + name[strings.IndexByte(name, '/')+1:], zip.Deflate, b, true
	}, nil))

	bad := func(name, want string, b []byte) {
		t.Helper()
		p := testenv.WriteFile(t, dir, name, b)
		_, err := Open(p, Options{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), p+": ") {
			t.Errorf("%s: err %v, want %q", name, err, want)
		}
	}
	bad("short.pt", "bytes, member views_zip/data/0 has 40", rewriteZip(t, src, func(name string, b []byte) (string, uint16, []byte, bool) {
		if strings.HasSuffix(name, "/data/0") {
			b = b[:40]
		}
		return name, zip.Store, b, true
	}, nil))
	bad("missing.pt", "member views_zip/data/0 is missing", rewriteZip(t, src, func(name string, b []byte) (string, uint16, []byte, bool) {
		return name, zip.Store, b, !strings.HasSuffix(name, "/data/0")
	}, nil))
	bad("script.pt", "TorchScript", rewriteZip(t, src, func(name string, b []byte) (string, uint16, []byte, bool) {
		return name, zip.Store, b, true
	}, map[string][]byte{"views_zip/code/__torch__.py": []byte("x")}))
	bad("order.pt", "byteorder", rewriteZip(t, src, func(name string, b []byte) (string, uint16, []byte, bool) {
		return name, zip.Store, b, !strings.HasSuffix(name, "/byteorder")
	}, map[string][]byte{"views_zip/byteorder": []byte("middle")}))
	bad("pkl.pt", "data.pkl", rewriteZip(t, src, func(name string, b []byte) (string, uint16, []byte, bool) {
		if strings.HasSuffix(name, "/data.pkl") {
			b = b[:len(b)/2]
		}
		return name, zip.Store, b, true
	}, nil))
	bad("notnpz.npz", "neither an .npz", rewriteZip(t, src, func(name string, b []byte) (string, uint16, []byte, bool) {
		return name, zip.Store, b, !strings.HasSuffix(name, "data.pkl")
	}, nil))
}

// TestMangledFiles cuts and flips bytes of small real files: every
// result opens or fails with an error naming the file; nothing panics.
func TestMangledFiles(t *testing.T) {
	root := testenv.RealData(t)
	dir := t.TempDir()
	for _, rel := range []string{
		"pytorch/gopickle/tensor_float32_proto2.pt",
		"pytorch/gopickle/tensor_float32_proto4.pt",
		"pytorch/gopickle/tensor_float32_proto1.pt",
		"pytorch/gopickle/tensor_bfloat16_proto2_zip.pt",
		"pytorch/burn/legacy_uncloned_views.pt",
		"numpy/npyio/data_float64_2x3_forder.npy",
		"numpy/candle/test.npz",
	} {
		orig, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(rel))
		try := func(b []byte) {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Open(p, Options{MaxMaterialize: 1 << 20})
			if err != nil {
				if !strings.Contains(err.Error(), p) {
					t.Fatalf("%s: error does not name the file: %v", rel, err)
				}
				return
			}
			for _, tn := range c.Tensors {
				buf := make([]byte, tn.Numel()*int64(tn.DType.Size()))
				tn.Data.ReadAt(buf, 0)
			}
			c.Close()
			List(p)
		}
		for n := range len(orig) {
			try(orig[:n])
		}
		if testing.Short() {
			continue
		}
		for i := range orig {
			b := slices.Clone(orig)
			b[i] ^= 0xff
			try(b)
		}
	}
}
