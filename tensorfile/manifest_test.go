package tensorfile

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

func manifestWeight(name string, dt tensor.DType, shape ...int64) tensor.Info {
	if shape == nil {
		shape = []int64{}
	}
	return tensor.Info{Name: name, DType: dt, Shape: shape}
}

func manifestWeightNoShape(name string, dt tensor.DType) tensor.Info {
	return tensor.Info{Name: name, DType: dt}
}

func TestParseManifestLines(t *testing.T) {
	F32, BF16, F16, I64 := tensor.F32, tensor.BF16, tensor.F16, tensor.I64
	tests := []struct {
		line string
		want tensor.Info
	}{
		{"a.weight", manifestWeightNoShape("a.weight", 0)},
		{"a.weight [4096, 32000]", manifestWeight("a.weight", 0, 4096, 32000)},
		{"a.weight (4096, 32000)", manifestWeight("a.weight", 0, 4096, 32000)},
		{"a.weight (4096,)", manifestWeight("a.weight", 0, 4096)},
		{"a.weight torch.Size([4096, 32000])", manifestWeight("a.weight", 0, 4096, 32000)},
		{"a.weight torch.Size([4096, 32000]) torch.float32", manifestWeight("a.weight", F32, 4096, 32000)},
		{"a.weight 4096x32000", manifestWeight("a.weight", 0, 4096, 32000)},
		{"a.weight 4096X32000x2", manifestWeight("a.weight", 0, 4096, 32000, 2)},
		{"a.weight 4096", manifestWeight("a.weight", 0, 4096)},
		{"a.weight []", manifestWeight("a.weight", 0)},
		{"a.weight ()", manifestWeight("a.weight", 0)},
		{"a.weight torch.Size([])", manifestWeight("a.weight", 0)},
		{"a.weight torch.Size([]) torch.int64", manifestWeight("a.weight", I64)},
		{"a.weight F32", manifestWeightNoShape("a.weight", F32)},
		{"a.weight float32", manifestWeightNoShape("a.weight", F32)},
		{"a.weight f32", manifestWeightNoShape("a.weight", F32)},
		{"a.weight BF16", manifestWeightNoShape("a.weight", BF16)},
		{"a.weight bfloat16", manifestWeightNoShape("a.weight", BF16)},
		{"a.weight torch.bfloat16", manifestWeightNoShape("a.weight", BF16)},
		{"a.weight dtype('float16')", manifestWeightNoShape("a.weight", F16)},
		{"a.weight float32 [2, 3]", manifestWeight("a.weight", F32, 2, 3)},
		{"a.weight: [2, 3] float32", manifestWeight("a.weight", F32, 2, 3)},
		{"a.weight:[2,3]:float32", manifestWeight("a.weight", F32, 2, 3)},
		{"a.weight\t(2, 3)\ttorch.float32", manifestWeight("a.weight", F32, 2, 3)},
		{"a.weight,[2, 3],F32", manifestWeight("a.weight", F32, 2, 3)},
		{"a.weight, 2x3, F32", manifestWeight("a.weight", F32, 2, 3)},
		{"a.weight shape=[2, 3] dtype=float32", manifestWeight("a.weight", F32, 2, 3)},
		{"a.weight shape: (2, 3) dtype: float32", manifestWeight("a.weight", F32, 2, 3)},
		{"  a.weight   [ 2 ,3 ]   F32  ", manifestWeight("a.weight", F32, 2, 3)},
		{"a.weight [2, 3] F32 # a comment", manifestWeight("a.weight", F32, 2, 3)},
		{"'a.weight' [2]", manifestWeight("a.weight", 0, 2)},
		{"dense/kernel:0 [2, 3]", manifestWeight("dense/kernel:0", 0, 2, 3)},
		{"dense/kernel:0", manifestWeightNoShape("dense/kernel:0", 0)},
		{"a.weight [0, 3]", manifestWeight("a.weight", 0, 0, 3)},
	}
	for _, tt := range tests {
		got, err := parseManifestLine(cleanLine(tt.line))
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseManifestLineErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"a.weight [2, x]", `bad shape "[2, x]": "x" is not a dimension`},
		{"a.weight [2, 3", `no closing bracket`},
		{"a.weight (2, 3]", `mismatched brackets`},
		{"a.weight [2, -3]", `bad shape "[2, -3]"`},
		{"a.weight flaot32", `"flaot32" after the name is neither a shape`},
		{"a.weight [2] [3]", `two shapes`},
		{"a.weight F32 BF16", `two dtypes`},
		{"a.weight 2x", `bad shape "2x"`},
		{"a.weight [99999999999999999999]", `too large`},
		{"a.weight [4294967296, 4294967296]", `more than 2^63 elements`},
		{": [2]", `no weight name`},
		{"a.weight shape=", `label without a value`},
		{"a.weight torch.Size(2, 3)", `want torch.Size([...])`},
		{"a.weight [2,,3]", `empty dimension`},
	}
	for _, tt := range tests {
		_, err := parseManifestLine(cleanLine(tt.line))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want it to contain %q", tt.line, err, tt.want)
		}
	}
}

// The output of
// for n, p in model.named_parameters(): print(n, p.shape, p.dtype)
// as printed by torch (CRLF added to check line ends).
const manifestNamedParams = "# printed by torch 2.3\r\n" +
	"model.embed_tokens.weight torch.Size([32000, 4096]) torch.bfloat16\r\n" +
	"model.layers.0.self_attn.q_proj.weight torch.Size([4096, 4096]) torch.bfloat16\r\n" +
	"\r\n" +
	"model.layers.0.input_layernorm.weight torch.Size([4096]) torch.float32\r\n" +
	"model.norm.num_batches_tracked torch.Size([]) torch.int64\r\n"

func TestParseManifestText(t *testing.T) {
	l, err := ParseManifest("m.txt", strings.NewReader("\ufeff"+manifestNamedParams))
	if err != nil {
		t.Fatal(err)
	}
	want := []tensor.Info{
		manifestWeight("model.embed_tokens.weight", tensor.BF16, 32000, 4096),
		manifestWeight("model.layers.0.self_attn.q_proj.weight", tensor.BF16, 4096, 4096),
		manifestWeight("model.layers.0.input_layernorm.weight", tensor.F32, 4096),
		manifestWeight("model.norm.num_batches_tracked", tensor.I64),
	}
	if l.Source != "m.txt" || !reflect.DeepEqual(l.Weights, want) {
		t.Errorf("got %+v", l)
	}
}

func TestParseManifestTextErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a [2]\nb [2]\r\nc [2, y]\n", `m.txt:3: bad shape "[2, y]": "y" is not a dimension`},
		{"# c\na\nb\na\n", `m.txt:4: "a" is listed twice (first on line 2)`},
		{"a\n\xff\xfe\n", `m.txt:2: not UTF-8 text`},
		{"a [2] float33\n", `m.txt:1: "float33" after the name is neither a shape (like [4096, 32000]) nor a dtype (like float32)`},
	}
	for _, tt := range tests {
		_, err := ParseManifest("m.txt", strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestParseManifestJSON(t *testing.T) {
	F32 := tensor.F32
	tests := []struct {
		in   string
		want []tensor.Info
	}{
		{`["a", "b.c"]`, []tensor.Info{manifestWeightNoShape("a", 0), manifestWeightNoShape("b.c", 0)}},
		{`{"z": [2, 3], "a": [], "m": null}`, []tensor.Info{manifestWeight("z", 0, 2, 3), manifestWeight("a", 0), manifestWeightNoShape("m", 0)}},
		{`{"z": "torch.Size([2, 3])", "a": "4x5"}`, []tensor.Info{manifestWeight("z", 0, 2, 3), manifestWeight("a", 0, 4, 5)}},
		{`{"z": {"shape": [2, 3], "dtype": "torch.float32"}, "a": {"dtype": "F32"}, "b": {"shape": [1]}}`,
			[]tensor.Info{manifestWeight("z", F32, 2, 3), manifestWeightNoShape("a", F32), manifestWeight("b", 0, 1)}},
		{`[{"name": "a", "shape": [2], "dtype": "float32"}, {"name": "b"}]`,
			[]tensor.Info{manifestWeight("a", F32, 2), manifestWeightNoShape("b", 0)}},
		// A safetensors header dumped as JSON.
		{`{"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}`,
			[]tensor.Info{manifestWeight("a", F32, 2)}},
		{"\n  [\"a\"]\n", []tensor.Info{manifestWeightNoShape("a", 0)}},
	}
	for _, tt := range tests {
		l, err := ParseManifest("m.json", strings.NewReader(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(l.Weights, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.in, l.Weights, tt.want)
		}
	}
}

func TestParseManifestJSONErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[\"a\",\n\"b\",\n3]", `m.json:3: entry 3: want a name`},
		{"{\"a\": [2],\n \"b\": [2, \"x\"]}", `m.json:2: weight "b": bad shape [2, "x"]: want a list of integers`},
		{"{\"a\": [2],\n \"b\": [2, -1]}", `m.json:2: weight "b": bad shape [2, -1]: negative dimension -1`},
		{"{\"a\": {\"dtype\": \"f33\"}}", `m.json:1: weight "a": unknown dtype "f33"`},
		{"{\"a\": [2],\n \"a\": [3]}", `m.json:2: "a" is listed twice (first on line 1)`},
		{"[\"a\",\n", `m.json:2: bad JSON`},
		{"{\"a\": [2]} x", `unexpected data after the JSON value`},
		{"[\"\"]", `empty weight name`},
		{"[{\"shape\": [2]}]", `object without "name"`},
		{"{\"a\": 3}", `bad shape 3`},
		{"{\"a\": \"float32\"}", `bad shape "float32"`},
	}
	for _, tt := range tests {
		_, err := ParseManifest("m.json", strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestParseManifestEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing\n\n", "[]", "{}"} {
		l, err := ParseManifest("m", strings.NewReader(in))
		if err != nil || len(l.Weights) != 0 || len(l.Notes) != 1 {
			t.Errorf("%q: %+v, %v", in, l, err)
		}
	}
}

func TestReadManifest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loaded.txt")
	if err := os.WriteFile(path, []byte("a [2] F32\nb (3,) BF16\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := ReadManifest(path)
	if err != nil || l.Source != path || len(l.Weights) != 2 {
		t.Fatalf("%+v, %v", l, err)
	}
	if _, err := ReadManifest(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("no error for an absent file")
	}
}

func TestLooksLikeManifest(t *testing.T) {
	tests := []struct {
		head string
		want bool
	}{
		{manifestNamedParams[:64], true},
		{"model.embed_tokens.weight torch.Size([32000, 4096]) torch.bfloat16\n", true},
		{"a.weight\nb.weight\n", true},
		{"# just a comment\n", true},
		{`["a", "b"]`, true},
		{`{"a": [2, 3]}`, true},
		{`{"metadata": {}, "weight_map": {"a": "x.safetensors"}}`, false},
		{"\x93NUMPY\x01\x00v\x00{'descr': '<f4'", false},
		{"PK\x03\x04\x14\x00\x00\x00", false},
		{"\x80\x02\x8a\x0alw\xf9\x11", false},
		{"\x48\x00\x00\x00\x00\x00\x00\x00{\"a\":", false},
		{"", false},
		{"refcmp is a tool that compares things.\nMore prose.\n", false},
		{"a.weight torch.Size([320", true}, // cut mid-line
	}
	for _, tt := range tests {
		if got := LooksLikeManifest([]byte(tt.head)); got != tt.want {
			t.Errorf("LooksLikeManifest(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	for _, s := range []string{
		manifestNamedParams,
		"a [2, 3] F32\nb (4,) bf16\nc 2x3\nd torch.Size([])\n",
		"dense/kernel:0: [2] float32\n",
		`["a", "b"]`,
		`{"a": [2, 3], "b": {"shape": "2x3", "dtype": "F32"}}`,
		`[{"name": "a", "shape": [2]}]`,
		`{"__metadata__": {}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}`,
		"a shape=[2] dtype=float32 # c\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseManifest("fuzz", strings.NewReader(string(data)))
		LooksLikeManifest(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error without the source: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, w := range l.Weights {
			if w.Name == "" || seen[w.Name] {
				t.Fatalf("bad or duplicate name %q", w.Name)
			}
			seen[w.Name] = true
			for _, d := range w.Shape {
				if d < 0 {
					t.Fatalf("negative dimension in %v", w.Shape)
				}
			}
		}
	})
}

// TestParseManifestTorchOutput parses what PyTorch itself prints for a
// small model, in the ways people print it, and checks every weight
// against the shapes and dtypes torch reports.
func TestParseManifestTorchOutput(t *testing.T) {
	py := testenv.Python(t, "torch")
	const script = `
import json, sys, torch, torch.nn as nn
torch.manual_seed(0)
m = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2).to(torch.bfloat16))
ws = list(m.named_parameters()) + list(m.named_buffers())
forms = {
    "print": "\n".join(f"{n} {p.shape} {p.dtype}" for n, p in ws),
    "tuple": "\n".join(f"{n}: {tuple(p.shape)} {p.dtype}" for n, p in ws),
    "list":  "\n".join(f"{n}\t{list(p.shape)}\t{str(p.dtype).replace('torch.', '')}" for n, p in ws),
    "json_shapes": json.dumps({n: list(p.shape) for n, p in ws}),
    "json_objects": json.dumps({n: {"shape": list(p.shape), "dtype": str(p.dtype)} for n, p in ws}, indent=2),
}
truth = [[n, list(p.shape), str(p.dtype).replace("torch.", "")] for n, p in ws]
json.dump({"forms": forms, "truth": truth}, sys.stdout)
`
	out, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Forms map[string]string
		Truth [][3]any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	var want []tensor.Info
	for _, tr := range got.Truth {
		w := tensor.Info{Name: tr[0].(string), Shape: []int64{}}
		for _, d := range tr[1].([]any) {
			w.Shape = append(w.Shape, int64(d.(float64)))
		}
		dt, err := tensor.ParseDType(tr[2].(string))
		if err != nil {
			t.Fatal(err)
		}
		w.DType = dt
		want = append(want, w)
	}
	if len(want) != 10 {
		t.Fatalf("torch listed %d weights", len(want))
	}
	for form, text := range got.Forms {
		l, err := ParseManifest(form, strings.NewReader(text))
		if err != nil {
			t.Errorf("%s: %v\n%s", form, err, text)
			continue
		}
		w := want
		if form == "json_shapes" { // shapes only: no dtypes
			w = make([]tensor.Info, len(want))
			for i, x := range want {
				w[i] = tensor.Info{Name: x.Name, Shape: x.Shape}
			}
		}
		if !reflect.DeepEqual(l.Weights, w) {
			t.Errorf("%s: got %+v\nwant %+v", form, l.Weights, w)
		}
	}
}
