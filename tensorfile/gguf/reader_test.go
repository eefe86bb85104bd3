package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

func realGGUF(t *testing.T) (good, malformed []string) {
	t.Helper()
	dir := filepath.Join(testenv.RealData(t), "gguf")
	good, _ = filepath.Glob(filepath.Join(dir, "*.gguf"))
	malformed, _ = filepath.Glob(filepath.Join(dir, "malformed", "*.gguf"))
	if len(good) == 0 || len(malformed) == 0 {
		t.Fatalf("no GGUF files under %s", dir)
	}
	return good, malformed
}

// checkFacts compares the header refcmp read with what gguf.cpp read.
func checkFacts(t *testing.T, f *File, of oracleFacts) {
	t.Helper()
	if f.Version != of.Version || f.Alignment != of.Alignment || f.DataOffset != of.DataOffset {
		t.Errorf("%s: version/alignment/data offset %d/%d/%d, ggml %d/%d/%d", f.Name,
			f.Version, f.Alignment, f.DataOffset, of.Version, of.Alignment, of.DataOffset)
	}
	if len(f.KV) != len(of.KV) {
		t.Fatalf("%s: %d KVs, ggml %d", f.Name, len(f.KV), len(of.KV))
	}
	for i, kv := range f.KV {
		if hex.EncodeToString([]byte(kv.Key)) != of.KV[i].KeyHex || int(kv.Value.Type) != of.KV[i].Type {
			t.Errorf("%s: KV %d is %q %s, ggml %s type %d", f.Name, i, kv.Key, kv.Value.Type, of.KV[i].KeyHex, of.KV[i].Type)
		}
	}
	if len(f.Tensors) != len(of.Tensors) {
		t.Fatalf("%s: %d tensors, ggml %d", f.Name, len(f.Tensors), len(of.Tensors))
	}
	for i, ti := range f.Tensors {
		o := of.Tensors[i]
		ne := []int64{1, 1, 1, 1}
		copy(ne, ti.Dims)
		if hex.EncodeToString([]byte(ti.Name)) != o.NameHex || uint32(ti.Type) != o.Type ||
			ti.Offset != o.Offset || ti.Bytes != o.Size || !reflect.DeepEqual(ne, o.Ne) {
			t.Errorf("%s: tensor %d %q %s dims %v off %d size %d; ggml %s type %d ne %v off %d size %d",
				f.Name, i, ti.Name, ti.Type, ti.Dims, ti.Offset, ti.Bytes, o.NameHex, o.Type, o.Ne, o.Offset, o.Size)
		}
	}
}

func TestRealGGUFMatchesGgml(t *testing.T) {
	good, _ := realGGUF(t)
	o := newOracle(t)
	for _, p := range good {
		f, err := Open(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		of, err := o.facts(t, p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		checkFacts(t, f, of)
	}
}

func TestStories260K(t *testing.T) {
	p := filepath.Join(testenv.RealData(t), "gguf", "stories260K.gguf")
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 48 || f.DataMissing || len(f.Notes) != 0 {
		t.Fatalf("%d tensors, data missing %v, notes %v", len(f.Tensors), f.DataMissing, f.Notes)
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || !reflect.DeepEqual(emb.Dims, []int64{64, 512}) || !reflect.DeepEqual(emb.Shape(), []int64{512, 64}) || emb.Type != F32 {
		t.Errorf("token_embd.weight: %+v shape %v", emb, emb.Shape())
	}
	ffn, _ := f.Tensor("blk.0.ffn_gate.weight")
	if !reflect.DeepEqual(ffn.Shape(), []int64{172, 64}) {
		t.Errorf("blk.0.ffn_gate.weight shape %v, want torch [172 64]", ffn.Shape())
	}
	arch, _ := f.Lookup("general.architecture")
	if arch.Str != "llama" {
		t.Errorf("general.architecture %q", arch.Str)
	}
	toks, _ := f.Lookup("tokenizer.ggml.tokens")
	if toks.Elem != TypeString || toks.Len != 512 || toks.Strs[0] != "<unk>" {
		t.Errorf("tokenizer.ggml.tokens: %s[%d] %q", toks.Elem, toks.Len, toks.Strs[:1])
	}
	scores, _ := f.Lookup("tokenizer.ggml.scores")
	if v, ok := scores.Index(3); !ok || v.Type != TypeFloat32 {
		t.Errorf("tokenizer.ggml.scores[3] = %+v", v)
	}
}

func TestVocabOnlyHasNoTensors(t *testing.T) {
	good, _ := realGGUF(t)
	n := 0
	for _, p := range good {
		if !strings.Contains(p, "ggml-vocab-") {
			continue
		}
		n++
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		// The file ends right after the KVs: no tensors, nothing missing,
		// and (as gguf.cpp says) the data offset is the end of the header.
		if len(f.Tensors) != 0 || f.DataMissing || f.DataOffset != f.Size {
			t.Errorf("%s: %d tensors, data missing %v, data offset %d size %d", p, len(f.Tensors), f.DataMissing, f.DataOffset, f.Size)
		}
	}
	if n != 3 {
		t.Errorf("%d vocab files, want 3", n)
	}
}

func TestMalformedRealGGUFErrors(t *testing.T) {
	_, bad := realGGUF(t)
	for _, p := range bad {
		_, err := Open(p)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want ErrFormat naming the file", p, err)
		}
	}
}

func TestMalformedRealGGUFGgmlAgrees(t *testing.T) {
	_, bad := realGGUF(t)
	o := newOracle(t)
	for _, p := range bad {
		if _, err := o.facts(t, p); err == nil {
			t.Errorf("%s: ggml reads it, refcmp refuses it", p)
		}
	}
}

func synthKVs() []tkv {
	return []tkv{
		{"general.architecture", TypeString, "llama"},
		{"general.name", TypeString, "  padded name \t"},
		{"llama.block_count", TypeUint32, uint64(2)},
		{"test.i64", TypeInt64, uint64(1<<63 | 5)},
		{"test.f64", TypeFloat64, 0.1},
		{"test.bool", TypeBool, true},
		{"test.u8", TypeUint8, uint64(200)},
		{"tokenizer.ggml.tokens", TypeArray, []string{"a", " b", "\xff\xfe"}},
		{"tokenizer.ggml.scores", TypeArray, []float32{1.5, -2}},
		{"test.u32s", TypeArray, []uint32{7, 8, 9}},
	}
}

func synthTensors() []ttensor {
	return []ttensor{
		{"tok_embd.weight", []uint64{64, 8}, F32},
		{"scalar", nil, F32},
		{"blk.0.attn_q.weight", []uint64{256, 4}, Q4_K},
		{"odd.type", []uint64{32}, Type(250)},
		{"bf16", []uint64{3, 1, 2}, BF16},
	}
}

func TestSyntheticVariants(t *testing.T) {
	dir := t.TempDir()
	le := build(binary.LittleEndian, 3, synthKVs(), synthTensors(), 32, false)
	want, err := Read(bytes.NewReader(le), int64(len(le)), "le.gguf", DefaultBudget())
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Tensors) != 5 || len(want.Notes) != 1 || !strings.Contains(want.Notes[0], "ggml type 250") {
		t.Fatalf("tensors %d notes %q", len(want.Tensors), want.Notes)
	}
	sc := want.Tensors[1]
	if len(sc.Dims) != 0 || len(sc.Shape()) != 0 || sc.Elements != 1 || sc.Bytes != 4 {
		t.Errorf("n_dims 0 tensor: %+v", sc)
	}
	if u := want.Tensors[3]; u.Type != 250 || u.Bytes != -1 || u.Type.String() != "type(250)" {
		t.Errorf("unknown type tensor: %+v %s", u, u.Type)
	}
	if v, _ := want.Lookup("general.name"); v.Str != "  padded name \t" {
		t.Errorf("string not byte-exact: %q", v.Str)
	}
	if v, _ := want.Lookup("tokenizer.ggml.tokens"); !reflect.DeepEqual(v.Strs, []string{"a", " b", "\xff\xfe"}) {
		t.Errorf("tokens %q", v.Strs)
	}
	if v, _ := want.Lookup("test.i64"); v.Sint != -1<<63+5 {
		t.Errorf("i64 %d", v.Sint)
	}
	if v, _ := want.Lookup("test.u32s"); func() bool { e, _ := v.Index(2); return e.Uint != 9 }() {
		t.Errorf("u32 array %+v", v)
	}
	// The same content as GGUF v2, and big-endian v3 and v2, reads the same.
	for _, c := range []struct {
		name string
		o    binary.AppendByteOrder
		v    uint32
	}{{"v2.gguf", binary.LittleEndian, 2}, {"be3.gguf", binary.BigEndian, 3}, {"be2.gguf", binary.BigEndian, 2}} {
		b := build(c.o, c.v, synthKVs(), synthTensors(), 32, false)
		got, err := Read(bytes.NewReader(b), int64(len(b)), c.name, DefaultBudget())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got.BigEndian != (c.o == binary.BigEndian) || got.Version != c.v {
			t.Errorf("%s: big-endian %v version %d", c.name, got.BigEndian, got.Version)
		}
		got.Name, got.BigEndian, got.Version = want.Name, want.BigEndian, want.Version
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s reads differently:\n got %+v\nwant %+v", c.name, got, want)
		}
	}
	// Cut off after the tensor infos: read header-only.
	cut := build(binary.LittleEndian, 3, synthKVs(), synthTensors(), 32, true)
	hf, err := Read(bytes.NewReader(cut), int64(len(cut)), "cut.gguf", DefaultBudget())
	if err != nil || !hf.DataMissing || len(hf.Tensors) != 5 {
		t.Errorf("cut file: %v, %+v", err, hf)
	}
	// ggml agrees on the little-endian files (it reads neither big-endian
	// nor unknown types, so those are left out here).
	o := newOracle(t)
	ts := synthTensors()
	ts = append(ts[:3:3], ts[4])
	for _, v := range []uint32{2, 3} {
		b := build(binary.LittleEndian, v, synthKVs(), ts, 32, false)
		p := testenv.WriteFile(t, dir, "oracle.gguf", b)
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		of, err := o.facts(t, p)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		checkFacts(t, f, of)
	}
}

func TestAlignmentTypes(t *testing.T) {
	for _, c := range []struct {
		kv      tkv
		want    int64
		wantErr bool
	}{
		{tkv{AlignmentKey, TypeUint32, uint64(64)}, 64, false},
		{tkv{AlignmentKey, TypeUint64, uint64(64)}, 64, false},
		{tkv{AlignmentKey, TypeUint8, uint64(16)}, 16, false},
		{tkv{AlignmentKey, TypeInt32, uint64(0xFFFFFFFF)}, 0, true},
		{tkv{AlignmentKey, TypeUint64, uint64(1 << 63)}, 0, true},
		{tkv{AlignmentKey, TypeUint32, uint64(48)}, 0, true},
		{tkv{AlignmentKey, TypeString, "32"}, 0, true},
	} {
		b := build(binary.LittleEndian, 3, []tkv{c.kv}, []ttensor{{"x", []uint64{4}, F32}}, max(c.want, 32), false)
		f, err := Read(bytes.NewReader(b), int64(len(b)), "a.gguf", DefaultBudget())
		if c.wantErr {
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `a.gguf: key "general.alignment"`) {
				t.Errorf("%v: error %v", c.kv, err)
			}
			continue
		}
		if err != nil || f.Alignment != c.want || f.DataOffset%c.want != 0 {
			t.Errorf("%v: %v %+v", c.kv, err, f)
		}
	}
}

func TestBudgetAndErrors(t *testing.T) {
	good := build(binary.LittleEndian, 3, synthKVs(), synthTensors(), 32, false)
	small := DefaultBudget()
	small.MaxArray = 2
	if _, err := Read(bytes.NewReader(good), int64(len(good)), "b.gguf", small); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "budget") {
		t.Errorf("array budget: %v", err)
	}
	small = DefaultBudget()
	small.MaxHeader = 100
	if _, err := Read(bytes.NewReader(good), int64(len(good)), "b.gguf", small); !errors.Is(err, ErrFormat) {
		t.Errorf("header budget: %v", err)
	}
	bad := build(binary.LittleEndian, 3, nil, []ttensor{{"blk.0.x", []uint64{100}, Q8_0}}, 32, false)
	_, err := Read(bytes.NewReader(bad), int64(len(bad)), "q.gguf", DefaultBudget())
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `q.gguf: tensor "blk.0.x": innermost dimension 100`) {
		t.Errorf("block size: %v", err)
	}
	five := build(binary.LittleEndian, 3, nil, []ttensor{{"t5", []uint64{1, 1, 1, 1, 1}, F32}}, 32, false)
	if _, err := Read(bytes.NewReader(five), int64(len(five)), "d.gguf", DefaultBudget()); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `tensor "t5": 5 dimensions`) {
		t.Errorf("dims budget: %v", err)
	}
	for _, c := range []struct{ name, b, want string }{
		{"empty", "", "needs 4 bytes"},
		{"magic", "GGML\x03\x00\x00\x00", "not a GGUF file"},
		{"v1", "GGUF\x01\x00\x00\x00", "version 1"},
		{"v9", "GGUF\x09\x00\x00\x00", "unknown GGUF version 9"},
		{"count", "GGUF\x03\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00", "tensor count"},
	} {
		_, err := Read(strings.NewReader(c.b), int64(len(c.b)), c.name, DefaultBudget())
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), c.name+": ") {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// Every truncation of a valid header errors or reads header-only; none panics.
	for n := 0; n < len(good); n++ {
		f, err := Read(bytes.NewReader(good[:n]), int64(n), "t.gguf", DefaultBudget())
		if err == nil && !f.DataMissing {
			t.Fatalf("cut at %d: read with data present", n)
		}
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope.gguf"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%v", err)
	}
}
