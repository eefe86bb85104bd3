package tensorfile

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

// realFailures are the real files that must fail, with a piece of the
// message that says why.
var realFailures = map[string]string{
	"numpy/ndarray-npy/example_c64_big_endian_standard.npy":            "complex dtype",
	"numpy/npyio/ragged-array_object.npy":                              "object array",
	"pytorch/malformed/broken.pt":                                      "not a PyTorch checkpoint",
	"safetensors/malformed/safetensors_abuse_attempt_1.safetensors":    "header length 1000",
	"index_json/llama-3.1-70b_Reflection_model.safetensors.index.json": "shard files are absent",
}

// realFiles lists the tensor files under realdata's numpy, pytorch and
// safetensors folders, as paths relative to root.
func realFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"numpy", "pytorch", "safetensors"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(root, p)
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 50 {
		t.Fatalf("only %d real files found under %s", len(out), root)
	}
	return out
}

// readAll reads a tensor's whole data and checks its size.
func readAll(t *testing.T, tn tensor.Tensor) []byte {
	t.Helper()
	n := tn.Numel() * int64(tn.DType.Size())
	b := make([]byte, n)
	if n > 0 {
		if m, err := tn.Data.ReadAt(b, 0); int64(m) != n {
			t.Fatalf("tensor %q: read %d of %d bytes: %v", tn.Name, m, n, err)
		}
	}
	var one [1]byte
	if m, err := tn.Data.ReadAt(one[:], n); m != 0 || err == nil {
		t.Errorf("tensor %q: reading past the end gave %d bytes, err %v", tn.Name, m, err)
	}
	return b
}

func openT(t *testing.T, path string) *Container {
	t.Helper()
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func allData(t *testing.T, c *Container) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, tn := range c.Tensors {
		m[tn.Name] = readAll(t, tn)
	}
	return m
}

func TestRealDataOpens(t *testing.T) {
	root := testenv.RealData(t)
	files := realFiles(t, root)
	files = append(files, "index_json/llama-3.1-70b_Reflection_model.safetensors.index.json")
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			path := filepath.Join(root, rel)
			c, err := Open(path, Options{})
			if want, bad := realFailures[rel]; bad {
				if err == nil {
					c.Close()
					t.Fatalf("opened; want an error containing %q", want)
				}
				if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %q does not name the file and %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(c.Tensors) == 0 && !strings.HasSuffix(rel, "empty_weight_map.index.json") {
				t.Fatalf("%s: no tensors", c.Format)
			}
			for _, tn := range c.Tensors {
				readAll(t, tn)
			}
			// List gives the same names, dtypes and shapes, reading no data.
			l, err := List(path)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(l.Weights) != len(c.Tensors) {
				t.Fatalf("List has %d weights, Open %d tensors", len(l.Weights), len(c.Tensors))
			}
			for i, w := range l.Weights {
				tn := c.Tensors[i]
				if w.Name != tn.Name || w.DType != tn.DType || !slices.Equal(w.Shape, tn.Shape) || w.Shape == nil {
					t.Errorf("List %v, Open %s %s %v", w, tn.Name, tn.DType, tn.Shape)
				}
			}
		})
	}
}

func f64s(b []byte) []float64 {
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

func f32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func single(t *testing.T, path string) tensor.Tensor {
	t.Helper()
	c := openT(t, path)
	if !c.Single || len(c.Tensors) != 1 {
		t.Fatalf("%s: Single=%v with %d tensors", path, c.Single, len(c.Tensors))
	}
	return c.Tensors[0]
}

func TestRealDataOrderAndEndianPairs(t *testing.T) {
	root := testenv.RealData(t)
	same := func(files ...string) {
		t.Helper()
		var first []byte
		var firstT tensor.Tensor
		for i, f := range files {
			tn := single(t, filepath.Join(root, f))
			b := readAll(t, tn)
			if i == 0 {
				first, firstT = b, tn
				continue
			}
			if tn.DType != firstT.DType || !slices.Equal(tn.Shape, firstT.Shape) || !bytes.Equal(b, first) {
				t.Errorf("%s (%s %v) differs from %s (%s %v)", f, tn.DType, tn.Shape, files[0], firstT.DType, firstT.Shape)
			}
		}
	}
	same("numpy/ndarray-npy/example_f64_little_endian_standard.npy",
		"numpy/ndarray-npy/example_f64_little_endian_fortran.npy",
		"numpy/ndarray-npy/example_f64_big_endian_standard.npy",
		"numpy/ndarray-npy/example_f64_big_endian_fortran.npy")

	// npyio's C- and F-order files hold the same bytes 0..5, so numpy
	// reads the F-order one as the transpose: [[0 2 4] [1 3 5]].
	want := map[string][]float64{
		"numpy/npyio/data_float64_2x3_corder.npy": {0, 1, 2, 3, 4, 5},
		"numpy/npyio/data_float64_2x3_forder.npy": {0, 2, 4, 1, 3, 5},
	}
	for f, w := range want {
		if got := f64s(readAll(t, single(t, filepath.Join(root, f)))); !slices.Equal(got, w) {
			t.Errorf("%s = %v, want %v", f, got, w)
		}
	}
	fz := allData(t, openT(t, filepath.Join(root, "numpy/npyio/data_float64_forder.npz")))
	if got := f64s(fz["arr0"]); !slices.Equal(got, []float64{0, 2, 4, 1, 3, 5}) {
		t.Errorf("data_float64_forder.npz arr0 = %v", got)
	}
	got := f64s(readAll(t, single(t, filepath.Join(root, "numpy/npyio/nans_inf.npy"))))
	if !math.IsNaN(got[0]) || !math.IsInf(got[1], -1) || got[2] != 0 || !math.IsInf(got[3], 1) {
		t.Errorf("nans_inf = %v, want [NaN -Inf 0 +Inf]", got)
	}
	if s := single(t, filepath.Join(root, "numpy/npyio/data_float32_scalar_corder.npy")); s.Shape == nil || len(s.Shape) != 0 || s.Numel() != 1 {
		t.Errorf("scalar npy has shape %v", s.Shape)
	}
}

func TestRealDataCandleNpyNpz(t *testing.T) {
	root := testenv.RealData(t)
	x := single(t, filepath.Join(root, "numpy/candle/test.npy"))
	z := openT(t, filepath.Join(root, "numpy/candle/test.npz"))
	if z.Format != FormatNpz || !z.Ordered || len(z.Tensors) != 2 || z.Tensors[0].Name != "x" || z.Tensors[1].Name != "x_plus_one" {
		t.Fatalf("test.npz: %s ordered=%v %v", z.Format, z.Ordered, z.Tensors)
	}
	xb := readAll(t, x)
	if !bytes.Equal(xb, readAll(t, z.Tensors[0])) {
		t.Error("test.npy differs from member x of test.npz")
	}
	x1 := readAll(t, z.Tensors[1])
	for i := 0; i < len(xb); i += 8 {
		if int64(binary.LittleEndian.Uint64(x1[i:]))-int64(binary.LittleEndian.Uint64(xb[i:])) != 1 {
			t.Fatalf("x_plus_one is not x+1 at %d", i/8)
		}
	}
	// Deflated members (np.savez_compressed).
	w := openT(t, filepath.Join(root, "numpy/whisper/mel_filters.npz"))
	if len(w.Tensors) != 2 || w.Tensors[0].Name != "mel_80" || !slices.Equal(w.Tensors[1].Shape, []int64{128, 201}) {
		t.Fatalf("mel_filters.npz: %v", w.Tensors)
	}
}

func TestRealDataMnistPtMatchesSafetensors(t *testing.T) {
	root := testenv.RealData(t)
	pt := openT(t, filepath.Join(root, "pytorch/burn/mnist.pt"))
	st := openT(t, filepath.Join(root, "safetensors/burn_mnist_with_bn_scalars.safetensors"))
	if pt.Format != FormatPyTorchZip || !pt.Ordered || st.Format != FormatSafetensors {
		t.Fatalf("formats %s %s", pt.Format, st.Format)
	}
	type sig struct {
		dt    string
		shape string
	}
	sigs := func(c *Container) map[string]sig {
		m := map[string]sig{}
		for _, tn := range c.Tensors {
			m[tn.Name] = sig{tn.DType.String(), fmt.Sprint(tn.Shape)}
		}
		return m
	}
	a, b := sigs(pt), sigs(st)
	if len(a) != 20 || len(a) != len(b) {
		t.Fatalf("mnist.pt has %d tensors, safetensors %d", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s: pt %v, safetensors %v", k, v, b[k])
		}
	}
	// The first tensors in .pt insertion order are the state_dict's.
	if pt.Tensors[0].Name != "conv1.weight" || pt.Tensors[1].Name != "conv1.bias" {
		t.Errorf("mnist.pt order starts %s, %s", pt.Tensors[0].Name, pt.Tensors[1].Name)
	}
	pb := f32s(allData(t, pt)["conv1.bias"])
	sb := f32s(allData(t, st)["conv1.bias"])
	if math.Abs(float64(pb[0])-0.1338) > 1e-4 || math.Abs(float64(sb[0])-0.1085) > 1e-4 {
		t.Errorf("conv1.bias[0]: pt %v, safetensors %v; want 0.1338 and 0.1085", pb[0], sb[0])
	}
}

func TestRealDataSafetensorsShardedEqualsNonSharded(t *testing.T) {
	root := testenv.RealData(t)
	one := allData(t, openT(t, filepath.Join(root, "safetensors/SafeTensors.jl/non_sharded/model.safetensors")))
	for _, p := range []string{"safetensors/SafeTensors.jl/sharded/model.safetensors.index.json", "safetensors/SafeTensors.jl/sharded"} {
		c := openT(t, filepath.Join(root, p))
		if c.Format != FormatSafetensorsIndex {
			t.Errorf("%s: format %s", p, c.Format)
		}
		sh := allData(t, c)
		if len(sh) != 36 || len(sh) != len(one) {
			t.Fatalf("%s: %d tensors, non-sharded %d", p, len(sh), len(one))
		}
		for k, v := range one {
			if !bytes.Equal(sh[k], v) {
				t.Errorf("%s: tensor %s differs", p, k)
			}
		}
	}
}

func TestRealDataPyTorchLayouts(t *testing.T) {
	root := testenv.RealData(t)
	// Nested dicts flatten to dotted names.
	c := openT(t, filepath.Join(root, "pytorch/candle/test_with_key.pt"))
	if len(c.Tensors) != 1 || c.Tensors[0].Name != "model_state_dict.test" {
		t.Errorf("test_with_key.pt: %v", c.Tensors)
	}
	// A bare tensor is Single; legacy and zip give the same bytes for each
	// dtype and pickle protocol.
	for _, f := range []string{"bfloat16_proto2", "bool_proto2", "float16_proto2", "float32_proto1", "float32_proto2",
		"float32_proto3", "float32_proto4", "float32_proto5", "float64_proto2", "int16_proto2", "int32_proto2",
		"int64_proto2", "int8_proto2", "uint8_proto2"} {
		leg := single(t, filepath.Join(root, "pytorch/gopickle/tensor_"+f+".pt"))
		zip := single(t, filepath.Join(root, "pytorch/gopickle/tensor_"+f+"_zip.pt"))
		if leg.DType != zip.DType || !slices.Equal(leg.Shape, zip.Shape) || !bytes.Equal(readAll(t, leg), readAll(t, zip)) {
			t.Errorf("tensor_%s: legacy and zip differ", f)
		}
	}
	// Fortran-strided storage (strides 1, 2, 6) comes out in C order:
	// 1..24.
	ft := openT(t, filepath.Join(root, "pytorch/candle/fortran_tensor_3d.pth")).Tensors[0]
	fb := readAll(t, ft)
	for i := range 24 {
		if v := int64(binary.LittleEndian.Uint64(fb[8*i:])); v != int64(i+1) {
			t.Fatalf("fortran_tensor_3d[%d] = %d, want %d (C order)", i, v, i+1)
		}
	}
}

// oracleScript prints, for each file argument, every tensor numpy or
// torch loads from it: name (dotted for nested dicts, "" for a bare
// array), dtype, shape and its little-endian C-order bytes in hex.
const oracleScript = `
import json, sys
import numpy as np
import torch
NP = {'bool': 'BOOL', 'int8': 'I8', 'int16': 'I16', 'int32': 'I32', 'int64': 'I64', 'uint8': 'U8',
      'uint16': 'U16', 'uint32': 'U32', 'uint64': 'U64', 'float16': 'F16', 'float32': 'F32', 'float64': 'F64'}
TD = {torch.bool: 'BOOL', torch.int8: 'I8', torch.int16: 'I16', torch.int32: 'I32', torch.int64: 'I64',
      torch.uint8: 'U8', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float32: 'F32', torch.float64: 'F64'}
def np_entry(a):
    a = a.copy(order='C')
    return {'dtype': NP[a.dtype.name], 'shape': list(a.shape), 'hex': a.astype(a.dtype.newbyteorder('<')).tobytes().hex()}
def t_entry(t):
    b = t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return {'dtype': TD[t.dtype], 'shape': list(t.shape), 'hex': b.hex()}
def flat(prefix, v, out):
    if isinstance(v, torch.Tensor):
        out[prefix] = t_entry(v)
    elif isinstance(v, torch.nn.Module):
        flat(prefix, v.state_dict(), out)
    elif isinstance(v, dict):
        for k, x in v.items():
            flat(str(k) if prefix == '' else prefix + '.' + str(k), x, out)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            flat(str(i) if prefix == '' else prefix + '.' + str(i), x, out)
res = {}
for f in sys.argv[1:]:
    out = {}
    if f.endswith('.npy'):
        out[''] = np_entry(np.load(f, allow_pickle=False))
    elif f.endswith('.npz'):
        with np.load(f, allow_pickle=False) as z:
            for k in z.files:
                out[k] = np_entry(z[k])
    else:
        flat('', torch.load(f, map_location='cpu'), out)
    res[f] = out
json.dump(res, sys.stdout)
`

// TestRealDataAgainstPeers checks every real .npy, .npz and .pt file
// against numpy's and torch's own loaders, byte for byte.
func TestRealDataAgainstPeers(t *testing.T) {
	root := testenv.RealData(t)
	py := testenv.Python(t, "numpy", "torch")
	var files []string
	for _, rel := range realFiles(t, root) {
		if _, bad := realFailures[rel]; bad || strings.HasPrefix(rel, "safetensors/") {
			continue
		}
		files = append(files, filepath.Join(root, rel))
	}
	checkAgainstPeers(t, py, root, files)
}

// checkAgainstPeers runs oracleScript on files and compares every tensor
// Open gives with what numpy or torch loads, byte for byte.
func checkAgainstPeers(t *testing.T, py, root string, files []string) {
	t.Helper()
	cmd := exec.Command(py, append([]string{"-c", oracleScript}, files...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	comparePeers(t, root, files, out)
}

// comparePeers compares the tensors Open gives for files with the JSON
// oracleScript printed for them.
func comparePeers(t *testing.T, root string, files []string, out []byte) {
	t.Helper()
	type entry struct {
		DType string  `json:"dtype"`
		Shape []int64 `json:"shape"`
		Hex   string  `json:"hex"`
	}
	var want map[string]map[string]entry
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		c := openT(t, f)
		w := want[f]
		if len(w) != len(c.Tensors) {
			t.Errorf("%s: %d tensors, peer has %d", rel, len(c.Tensors), len(w))
		}
		for _, tn := range c.Tensors {
			name := tn.Name
			if c.Single {
				name = ""
			}
			e, ok := w[name]
			if !ok {
				t.Errorf("%s: tensor %q unknown to the peer", rel, name)
				continue
			}
			got := hex.EncodeToString(readAll(t, tn))
			if e.DType != tn.DType.String() || !slices.Equal(e.Shape, tn.Shape) || e.Hex != got {
				t.Errorf("%s: tensor %q: got %s %v %s, peer %s %v %s", rel, name, tn.DType, tn.Shape, got, e.DType, e.Shape, e.Hex)
			}
		}
	}
}

func TestRealDataListIndexes(t *testing.T) {
	root := testenv.RealData(t)
	for f, n := range map[string]int{
		"edge_placeholder_empty_weight_map.index.json":             0,
		"llama-3.1-70b_Reflection_model.safetensors.index.json":    723,
		"mistral_Devstral-Small-2507_model.safetensors.index.json": 363,
		"mixtral-8x22b_WizardLM-2_model.safetensors.index.json":    1739,
		"qwen2.5-14b_sakura_model.safetensors.index.json":          579,
	} {
		l, err := List(filepath.Join(root, "index_json", f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(l.Weights) != n || (n > 0 && l.Weights[0].Shape != nil) || len(l.Notes) == 0 {
			t.Errorf("%s: %d weights (want %d), first %v, notes %q", f, len(l.Weights), n, l.Weights[:min(1, n)], l.Notes)
		}
	}
}
