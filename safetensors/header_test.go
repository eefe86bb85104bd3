package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	nlpst "github.com/nlpodyssey/safetensors"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
	"golang.org/x/sys/unix"
)

// build returns a safetensors file: the header (padded with spaces to pad
// bytes when pad > len(header)) followed by data zero bytes.
func build(header string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, data)...)
}

// dtypeCounts renders a file's dtype histogram as "F32:2 I64:1".
func dtypeCounts(ts []Tensor) string {
	n := map[string]int{}
	for _, t := range ts {
		n[t.DType.String()]++
	}
	var s []string
	for d, c := range n {
		s = append(s, fmt.Sprintf("%s:%d", d, c))
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

// realFiles lists every well-formed safetensors file in the corpus.
func realFiles(t testing.TB, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "safetensors"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "malformed" {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, ".safetensors") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// The counts and dtypes are PROVENANCE.md's; parameters were summed by a
// Python stdlib parse of the same headers.
func TestReadHeaderRealData(t *testing.T) {
	root := testenv.RealData(t)
	tests := []struct {
		path      string
		tensors   int
		params    int64
		headerLen int64
		dtypes    string
		metaKeys  int // -1: no __metadata__
		scalars   int
	}{
		{"SafeTensors.jl/non_sharded/model.numpy.safetensors", 27, 1107, 1840, "BOOL:3 F16:3 F32:3 F64:3 I16:3 I32:3 I64:3 I8:3 U8:3", -1, 0},
		{"SafeTensors.jl/non_sharded/model.safetensors", 36, 1476, 2528, "BF16:3 BOOL:3 F16:3 F32:3 F64:3 F8_E4M3:3 F8_E5M2:3 I16:3 I32:3 I64:3 I8:3 U8:3", -1, 0},
		{"SafeTensors.jl/non_sharded/model.with_metadata.safetensors", 36, 1476, 2576, "BF16:3 BOOL:3 F16:3 F32:3 F64:3 F8_E4M3:3 F8_E5M2:3 I16:3 I32:3 I64:3 I8:3 U8:3", 2, 0},
		{"SafeTensors.jl/sharded/model-00001-of-00006.safetensors", 19, 267, 1272, "BOOL:2 F16:3 F32:2 F64:2 I16:2 I32:2 I64:2 I8:2 U8:2", 1, 0},
		{"SafeTensors.jl/sharded/model-00002-of-00006.safetensors", 1, 105, 104, "F32:1", 1, 0},
		{"SafeTensors.jl/sharded/model-00003-of-00006.safetensors", 2, 210, 176, "BOOL:1 F64:1", 1, 0},
		{"SafeTensors.jl/sharded/model-00004-of-00006.safetensors", 4, 420, 304, "I16:1 I32:1 I8:1 U8:1", 1, 0},
		{"SafeTensors.jl/sharded/model-00005-of-00006.safetensors", 7, 159, 544, "BF16:2 F8_E4M3:2 F8_E5M2:2 I64:1", 1, 0},
		{"SafeTensors.jl/sharded/model-00006-of-00006.safetensors", 3, 315, 264, "BF16:1 F8_E4M3:1 F8_E5M2:1", 1, 0},
		{"burn_mnist_with_bn_scalars.safetensors", 20, 376940, 1520, "F32:18 I64:2", -1, 2},
		{"burn_multi_layer.safetensors", 9, 4241, 648, "F32:8 I64:1", -1, 1},
		{"candle/csm_voices.safetensors", 2, 64812, 144, "I64:1 U8:1", -1, 0},
		{"candle/encodec_jfk-codes.safetensors", 1, 1656, 72, "I64:1", -1, 0},
		{"coffeevampir_mlp_save_model.safetensors", 4, 430, 320, "F32:4", 2, 0},
		{"hf_safetensors_samples/B.safetensors", 1, 6, 81, "U8:1", 1, 0},
		{"hf_safetensors_samples/H.safetensors", 1, 6, 83, "U16:1", 1, 0},
		{"hf_safetensors_samples/I.safetensors", 1, 6, 83, "U32:1", 1, 0},
		{"hf_safetensors_samples/b.safetensors", 1, 6, 81, "I8:1", 1, 0},
		{"hf_safetensors_samples/d.safetensors", 1, 6, 83, "F64:1", 1, 0},
		{"hf_safetensors_samples/e.safetensors", 1, 6, 83, "F16:1", 1, 0},
		{"hf_safetensors_samples/f.safetensors", 1, 6, 83, "F32:1", 1, 0},
		{"hf_safetensors_samples/h.safetensors", 1, 6, 83, "I16:1", 1, 0},
		{"hf_safetensors_samples/i.safetensors", 1, 6, 83, "I32:1", 1, 0},
		{"hf_safetensors_samples/overall.safetensors", 9, 54, 526, "F16:1 F32:1 F64:1 I16:1 I32:1 I8:1 U16:1 U32:1 U8:1", 1, 0},
		{"mlverse_hello.safetensors", 2, 150, 128, "F32:2", -1, 0},
		{"peft_gpt2_lora_adapter_model.safetensors", 25, 299520, 3120, "F32:25", 1, 0},
		{"safetensors-cpp_numpy_f64.safetensors", 2, 320, 136, "F64:2", -1, 0},
		{"tinygrad_mnist_safe_save.safetensors", 2, 101632, 152, "F32:2", -1, 0},
	}
	if n := len(realFiles(t, root)); n != len(tests) {
		t.Errorf("corpus has %d safetensors files, the table %d", n, len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f, err := ReadHeader(filepath.Join(root, "safetensors", tt.path))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Tensors) != tt.tensors {
				t.Errorf("tensors = %d, want %d", len(f.Tensors), tt.tensors)
			}
			if f.HeaderLen != tt.headerLen {
				t.Errorf("HeaderLen = %d, want %d", f.HeaderLen, tt.headerLen)
			}
			if got := dtypeCounts(f.Tensors); got != tt.dtypes {
				t.Errorf("dtypes = %s, want %s", got, tt.dtypes)
			}
			if tt.metaKeys < 0 && f.Metadata != nil || tt.metaKeys >= 0 && len(f.Metadata) != tt.metaKeys {
				t.Errorf("Metadata = %v, want %d keys", f.Metadata, tt.metaKeys)
			}
			var params int64
			scalars := 0
			at := 8 + f.HeaderLen
			for _, ts := range f.Tensors {
				params += ts.Numel()
				if ts.Shape == nil {
					t.Errorf("%s: nil shape", ts.Name)
				}
				if len(ts.Shape) == 0 {
					scalars++
				}
				if ts.Begin != at || ts.Bytes() != ts.Numel()*int64(ts.DType.Size()) {
					t.Errorf("%s: [%d, %d) %v %s: not packed at %d", ts.Name, ts.Begin, ts.End, ts.Shape, ts.DType, at)
				}
				at = ts.End
			}
			if at != f.Size {
				t.Errorf("data ends at %d, file size %d", at, f.Size)
			}
			if params != tt.params || scalars != tt.scalars {
				t.Errorf("params, scalars = %d, %d; want %d, %d", params, scalars, tt.params, tt.scalars)
			}
		})
	}
}

// pyHeader is an independent reading of the headers with Python's json:
// for each file, its tensors in offset order as "name dtype shape begin end".
const pyHeader = `
import json, struct, sys
for p in sys.argv[1:]:
    with open(p, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    rows = sorted(h.items(), key=lambda kv: (kv[1]["data_offsets"], kv[0]))
    print(json.dumps([p, [[k, v["dtype"], v["shape"], 8 + n + v["data_offsets"][0], 8 + n + v["data_offsets"][1]] for k, v in rows]]))
`

func TestReadHeaderMatchesPython(t *testing.T) {
	root := testenv.RealData(t)
	py := testenv.Python(t)
	files := realFiles(t, root)
	out, err := exec.Command(py, append([]string{"-c", pyHeader}, files...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(files) {
		t.Fatalf("python printed %d lines for %d files", len(lines), len(files))
	}
	for _, line := range lines {
		var rec []json.RawMessage
		var path string
		var want [][]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(rec[0], &path)
		json.Unmarshal(rec[1], &want)
		f, err := ReadHeader(path)
		if err != nil {
			t.Fatal(err)
		}
		var got [][]any
		for _, ts := range f.Tensors {
			shape := make([]any, len(ts.Shape))
			for i, d := range ts.Shape {
				shape[i] = float64(d)
			}
			got = append(got, []any{ts.Name, ts.DType.String(), shape, float64(ts.Begin), float64(ts.End)})
		}
		if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
			t.Errorf("%s:\n got %s\nwant %s", path, g, w)
		}
	}
}

// The library alone rejects the F8 files; ReadHeader reads them with the
// right dtypes.
func TestF8Gap(t *testing.T) {
	root := testenv.RealData(t)
	for _, name := range []string{
		"non_sharded/model.safetensors",
		"non_sharded/model.with_metadata.safetensors",
		"sharded/model-00005-of-00006.safetensors",
		"sharded/model-00006-of-00006.safetensors",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(root, "safetensors/SafeTensors.jl", name)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := nlpst.ReadMetadata(b); err == nil || !strings.Contains(err.Error(), `"F8_E`) {
				t.Errorf("library: err = %v, want it to reject F8_E4M3/F8_E5M2", err)
			}
			f, err := ReadHeader(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, ts := range f.Tensors {
				if strings.Contains(ts.Name, "float8") != (ts.DType == tensor.F8E4M3 || ts.DType == tensor.F8E5M2) {
					t.Errorf("%s: dtype %s", ts.Name, ts.DType)
				}
			}
			after, _ := os.ReadFile(path)
			if string(after) != string(b) {
				t.Error("the file changed")
			}
		})
	}
}

func TestReadHeaderMalformed(t *testing.T) {
	const w = `"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]}`
	tests := []struct {
		name string
		file []byte
		want string // error text after "<path>: "
	}{
		{"empty", nil, "file is 0 bytes, too short"},
		{"short", []byte{1, 0, 0}, "file is 3 bytes, too short"},
		{"header past end", build("{"+w+"}", 64)[:50], "header length 57 runs past the end of the file (50 bytes)"},
		{"header over 100MB", binary.LittleEndian.AppendUint64(nil, 100_000_001), "header length 100000001 is over the format's limit of 100000000 bytes"},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<63+5), "header length 9223372036854775813 is over"},
		{"truncated data", build("{"+w+"}", 60), `tensor "w": data_offsets end at 64, past the end of the file's 60 data bytes`},
		{"trailing data", build("{"+w+"}", 70), `the last tensor, "w", ends at data offset 64, but 70 data bytes follow the header (6 trailing bytes)`},
		{"size mismatch", build(`{"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,60]}}`, 60), `tensor "w": shape [4 4] F32 needs 64 bytes, data_offsets span 60`},
		{"overlap", build(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}}`, 12), `tensor "b": data_offsets [4 12] overlap tensor "a", which ends at 8`},
		{"hole", build(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[12,20]}}`, 20), `tensor "b": data_offsets [12 20] leave a hole of 4 bytes after tensor "a", which ends at 8`},
		{"hole at start", build(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}}`, 12), `tensor "a": data_offsets [4 12] leave a hole: the data region begins with 4 unused bytes`},
		{"end before begin", build(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}}`, 8), `tensor "a": data_offsets [8 0] end before they begin`},
		{"shape overflow", build(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0), `tensor "a": shape [4294967296 4294967296] F64 is too large`},
		{"dimension over int64", build(`{"a":{"dtype":"U8","shape":[0,18446744073709551615],"data_offsets":[0,0]}}`, 0), `tensor "a": dimension 18446744073709551615 is too large`},
		{"unknown dtype", build(`{"a":{"dtype":"float32","shape":[1],"data_offsets":[0,4]}}`, 4), `tensor "a": unknown dtype "float32"`},
		{"newer dtype", build(`{"a":{"dtype":"F8_E8M0","shape":[1],"data_offsets":[0,1]}}`, 1), `tensor "a": unknown dtype "F8_E8M0"`},
		{"dtype not string", build(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, 4), `header: tensor "a": dtype 4 is not a string`},
		{"negative shape", build(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,4]}}`, 4), `header: tensor "a": shape [-1] is not a list of non-negative integers`},
		{"float shape", build(`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,4]}}`, 4), `header: tensor "a": shape [1.5] is not a list`},
		{"null shape", build(`{"a":{"dtype":"U8","shape":null,"data_offsets":[0,4]}}`, 4), `header: tensor "a": shape null is not a list`},
		{"three offsets", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4,8]}}`, 4), `header: tensor "a": data_offsets [0,4,8] is not a pair`},
		{"missing shape", build(`{"a":{"dtype":"U8","data_offsets":[0,4]}}`, 4), `header: tensor "a": no shape`},
		{"missing dtype", build(`{"a":{"shape":[4],"data_offsets":[0,4]}}`, 4), `header: tensor "a": no dtype`},
		{"missing offsets", build(`{"a":{"dtype":"U8","shape":[4]}}`, 4), `header: tensor "a": no data_offsets`},
		{"extra key", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4],"x":1}}`, 4), `header: tensor "a": unexpected key "x"`},
		{"entry not object", build(`{"a":[1,2]}`, 0), `header: tensor "a": [1,2] is not a JSON object`},
		{"duplicate tensor", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4), `header: duplicate key "a"`},
		{"duplicate field", build(`{"a":{"dtype":"U8","dtype":"I8","shape":[4],"data_offsets":[0,4]}}`, 4), `header: tensor "a": duplicate key "dtype"`},
		{"metadata number", build(`{"__metadata__":{"format":"pt","step":3}}`, 0), `header: __metadata__: "step" is 3, not a string`},
		{"metadata nested", build(`{"__metadata__":{"cfg":{"a":"b"}}}`, 0), `header: __metadata__: "cfg" is {"a":"b"}, not a string`},
		{"metadata not object", build(`{"__metadata__":"pt"}`, 0), `header: __metadata__: "pt" is not a JSON object`},
		{"bad JSON", build(`{"a":{"dtype":"U8",}}`, 0), `header: bad JSON: invalid character '}'`},
		{"cut JSON", build(`{"a":{"dtype":"U8"`, 0), `header: bad JSON: unexpected end`},
		{"not an object", build(`[1, 2]`, 0), `header: [1, 2] is not a JSON object`},
		{"empty header", build(``, 0), `header: bad JSON: unexpected end`},
		{"trailing JSON", build(`{} {}`, 0), `header: bad JSON: data after the object`},
		{"bad UTF-8", build("{\"\xff\":{}}", 0), `header is not valid UTF-8`},
		{"no tensors but data", build(`{}`, 4), `the header lists no tensors, but 4 data bytes follow it`},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := testenv.WriteFile(t, dir, fmt.Sprintf("m%d.safetensors", i), tt.file)
			f, err := ReadHeader(path)
			if err == nil {
				t.Fatalf("no error; got %+v", f)
			}
			if want := path + ": " + tt.want; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err = %v\nwant %s...", err, want)
			}
		})
	}
}

func TestReadHeaderValid(t *testing.T) {
	tests := []struct {
		name string
		file []byte
		want string // Tensors as "name dtype shape [begin end)" lines
		meta map[string]string
	}{
		{"empty", build(`{}`, 0), "", nil},
		{"empty metadata", build(`{"__metadata__":{}}`, 0), "", map[string]string{}},
		{"null metadata", build(`{"__metadata__":null}`, 0), "", nil},
		{"padded", build(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}      `, 2), "a U8 [2] [67 69)", nil},
		{"leading space", build(` {"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 2), "a U8 [2] [62 64)", nil},
		{"scalar and empty tensors in offset then name order", build(`{"z":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"e2":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]},"e1":{"dtype":"F32","shape":[3,0],"data_offsets":[8,8]},"__metadata__":{"format":"pt"}}`, 8),
			"z I64 [] [204 212)\ne1 F32 [3 0] [212 212)\ne2 F32 [0 3] [212 212)", map[string]string{"format": "pt"}},
		{"empty name and unicode", build(`{"":{"dtype":"BOOL","shape":[1],"data_offsets":[1,2]},"\u00e9":{"dtype":"F8_E5M2","shape":[1],"data_offsets":[0,1]}}`, 2),
			"é F8_E5M2 [1] [124 125)\n BOOL [1] [125 126)", nil},
		{"whitespace around an F8 dtype", build("{ \"a\" :\r\n\t{ \"shape\" : [ 2 ] ,\n \"dtype\"\t:\n  \"F8_E5M2\"  , \"data_offsets\":[0,2]}\n}\n", 2), "a F8_E5M2 [2] [88 90)", nil},
		{"escaped F8 dtype", build(`{"a":{"dtype":"F8_\u00454M3","shape":[2],"data_offsets":[0,2]}}`, 2), "a F8_E4M3 [2] [71 73)", nil},
		{"huge zero-size dims", build(`{"a":{"dtype":"F8_E4M3","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}}`, 0), "a F8_E4M3 [0 4611686018427387904 4] [88 88)", nil},
		// numel 0 as tensor.Numel counts it, though the other dimensions'
		// product overflows (the library rejected it; npy accepts it).
		{"empty after overflowing dims", build(`{"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904,0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1),
			"a F32 [4611686018427387904 4611686018427387904 0] [154 154)\nb U8 [1] [154 155)", nil},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadHeader(testenv.WriteFile(t, dir, fmt.Sprintf("v%d.safetensors", i), tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ts := range f.Tensors {
				got = append(got, fmt.Sprintf("%s %s %v [%d %d)", ts.Name, ts.DType, ts.Shape, ts.Begin, ts.End))
			}
			if g := strings.Join(got, "\n"); g != tt.want {
				t.Errorf("got\n%s\nwant\n%s", g, tt.want)
			}
			if fmt.Sprint(f.Metadata) != fmt.Sprint(tt.meta) || (f.Metadata == nil) != (tt.meta == nil) {
				t.Errorf("Metadata = %#v, want %#v", f.Metadata, tt.meta)
			}
		})
	}
}

func TestReadHeaderMalformedReal(t *testing.T) {
	root := testenv.RealData(t)
	path := filepath.Join(root, "safetensors/malformed/safetensors_abuse_attempt_1.safetensors")
	_, err := ReadHeader(path)
	if want := path + ": header length 1000 runs past the end of the file (88 bytes)"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestReadHeaderNotAFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadHeader(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: err = %v", err)
	}
	if _, err := ReadHeader(filepath.Join(dir, "none.safetensors")); err == nil || !os.IsNotExist(err) {
		t.Errorf("absent: err = %v", err)
	}
}

func TestIsSafetensors(t *testing.T) {
	ok := build(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 2)
	tests := []struct {
		name string
		head []byte
		size int64
		want bool
	}{
		{"file", ok, int64(len(ok)), true},
		{"head only", ok[:9], int64(len(ok)), true},
		{"header past size", ok[:9], 20, false},
		{"short head", ok[:8], int64(len(ok)), false},
		{"no brace", build(`[]`, 0), 10, false},
		{"json", []byte(`{"weight_map": {}}`), 18, false},
		{"too large", binary.LittleEndian.AppendUint64(nil, 200_000_000), 1 << 40, false},
	}
	for _, tt := range tests {
		if got := IsSafetensors(tt.head, tt.size); got != tt.want {
			t.Errorf("%s: IsSafetensors = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzReadHeader is seeded with the corpus's safetensors files (the four
// over 64 KiB, slow to mutate and minimise, are left out) and a few made
// here. Every new input is minimised, 60 s each by default, so cap that:
//
//	go test -run '^$' -fuzz FuzzReadHeader -fuzztime 20s -fuzzminimizetime 2s ./safetensors
func FuzzReadHeader(f *testing.F) {
	if root, ok := testenv.FindRealData(); ok {
		filepath.WalkDir(filepath.Join(root, "safetensors"), func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".safetensors") {
				if b, err := os.ReadFile(p); err == nil && len(b) <= 64<<10 {
					f.Add(b)
				}
			}
			return nil
		})
	}
	f.Add(build(`{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]},"__metadata__":{"k":"v"}}`, 2))
	f.Add(build(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}}`, 12))
	// One in-memory file (memfd), rewritten for each input: a fuzzing
	// worker runs one input at a time, and a disk file would be slow.
	fd, err := unix.MemfdCreate("fuzz", 0)
	if err != nil {
		f.Fatal(err)
	}
	mf := os.NewFile(uintptr(fd), "fuzz")
	f.Cleanup(func() { mf.Close() })
	const path = "fuzz.safetensors"
	f.Add(build(`{"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904,0],"data_offsets":[0,0]}}`, 0))
	f.Add(build(`{"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904,1],"data_offsets":[0,0]}}`, 0))
	f.Add(build(`{"a":{"dtype":"F32","shape":[9223372036854775808,0],"data_offsets":[0,0]}}`, 0))
	f.Add(build(`{"__metadata__":{"k":"v\u00e9","k2":"\""},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		sameWithoutLibrary(t, b)
		if err := mf.Truncate(0); err != nil {
			t.Fatal(err)
		}
		if _, err := mf.WriteAt(b, 0); err != nil {
			t.Fatal(err)
		}
		IsSafetensors(b, int64(len(b)))
		file, err := readHeader(mf, path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), path+": ") {
				t.Fatalf("error without the path: %v", err)
			}
			return
		}
		at := 8 + file.HeaderLen
		for _, ts := range file.Tensors {
			if ts.Begin != at || ts.DType == tensor.Unknown || ts.Shape == nil || ts.End > file.Size {
				t.Fatalf("accepted a bad tensor %+v (data at %d)", ts, at)
			}
			at = ts.End
		}
		if at != file.Size {
			t.Fatalf("accepted data ending at %d in a %d-byte file", at, file.Size)
		}
	})
}

// sameWithoutLibrary checks that the header in file b reads the same
// through the library (headers up to libHeaderLimit) as from scan's
// entries alone (larger headers): the same tensors and metadata, or an
// error both ways.
func sameWithoutLibrary(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 8 {
		return
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderLen || 8+n > uint64(len(b)) {
		return
	}
	lib, errLib := parseWith(bytes.Clone(b), int64(n), true)
	own, errOwn := parseWith(bytes.Clone(b), int64(n), false)
	if (errLib == nil) != (errOwn == nil) {
		t.Fatalf("library: %v; without it: %v", errLib, errOwn)
	}
	if errLib == nil && !reflect.DeepEqual(lib, own) {
		t.Fatalf("library: %+v\nwithout it: %+v", lib, own)
	}
}

// TestSameWithoutLibrary: every header of the tests and of realdata
// reads the same with and without the library.
func TestSameWithoutLibrary(t *testing.T) {
	files := [][]byte{
		build(`{}`, 0), build(`{"__metadata__":{}}`, 0), build(`{"__metadata__":null}`, 0),
		build(`{"z":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"e2":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]},"e1":{"dtype":"F32","shape":[3,0],"data_offsets":[8,8]},"__metadata__":{"format":"pt"}}`, 8),
		build(`{"a":{"dtype":"F8_\u00454M3","shape":[2],"data_offsets":[0,2]}}`, 2),
		build(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}}`, 12),
		build(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 3),
		build(`{"a":{"dtype":"X9","shape":[2],"data_offsets":[0,2]}}`, 2),
		manyTensors(1000),
	}
	if root, ok := testenv.FindRealData(); ok {
		for _, p := range realFiles(t, root) {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 64<<20 {
				files = append(files, b)
			}
		}
	}
	for _, b := range files {
		sameWithoutLibrary(t, b)
	}
}

// TestLibraryHeaderCost shows the gap parse covers by reading headers
// over libHeaderLimit without the library: its ReadMetadata decodes the
// JSON into map[string]any (about 10 µs a tensor). When this fails, the
// library got fast: give it every header again.
func TestLibraryHeaderCost(t *testing.T) {
	if testing.Short() {
		t.Skip("times a 17 MB header")
	}
	b := manyTensors(200_000)
	n := int64(binary.LittleEndian.Uint64(b))
	timeIt := func(f func()) time.Duration {
		best := time.Duration(math.MaxInt64)
		for range 2 {
			start := time.Now()
			f()
			best = min(best, time.Since(start))
		}
		return best
	}
	lib := timeIt(func() {
		if _, _, err := nlpst.ReadMetadata(b); err != nil {
			t.Fatal(err)
		}
	})
	own := timeIt(func() {
		if _, err := parseWith(bytes.Clone(b), n, false); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("200k tensors: library ReadMetadata %v, scan+check+build %v", lib, own)
	if 2*lib < 3*own {
		t.Errorf("the library (%v) is no longer much slower than scan+check (%v)", lib, own)
	}
}
