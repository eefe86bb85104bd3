package tensorfile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/tensor"
)

func TestLoad(t *testing.T) {
	const acts = "../testdata/porting/ref_activations.safetensors"
	ts, err := Load(acts, "layers.0.self_attn.scores")
	if err != nil {
		t.Fatal(err)
	}
	if ts.DType != tensor.F32 || tensor.FormatShape(ts.Shape) != "[1 4 8 8]" {
		t.Errorf("loaded %s %v", ts.DType, ts.Shape)
	}
	m, ok := ts.Data.(tensor.MemData)
	if !ok || len(m) != 1024 {
		t.Fatalf("data %T of %d bytes, want MemData of 1024", ts.Data, len(m))
	}
	// Same values as through Open, and readable after Load closed the file.
	c, err := Open(acts, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, o := range c.Tensors {
		if o.Name != ts.Name {
			continue
		}
		res, err := diffing.Compare(o, ts, diffing.Tolerance{Exact: true})
		if err != nil || !res.Pass {
			t.Errorf("Load's data differ from Open's: %v %+v", err, res)
		}
	}

	if _, err := Load(acts, "nope"); err == nil || !strings.Contains(err.Error(), `no tensor "nope" (it holds "`) {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := Load(acts, ""); err == nil || !strings.Contains(err.Error(), "holds 18 tensors; name the one to load") {
		t.Errorf("no name for a container: %v", err)
	}

	// A single-tensor file: "" or any name.
	dir := t.TempDir()
	raw := filepath.Join(dir, "x.bin")
	if err := os.WriteFile(raw, []byte{0, 0, 128, 63, 0, 0, 0, 64}, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "x.bin", "whatever"} {
		x, err := LoadWith(raw, name, Options{DType: tensor.F32, Shape: []int64{2}})
		if err != nil {
			t.Fatal(err)
		}
		vals, err := diffing.Float64s(x)
		if err != nil || len(vals) != 2 || vals[0] != 1 || vals[1] != 2 {
			t.Errorf("raw %q: %v %v", name, vals, err)
		}
	}
	if _, err := LoadWith(raw, "", Options{DType: tensor.F32, Shape: []int64{2}, MaxMaterialize: 4}); err == nil || !strings.Contains(err.Error(), "over the limit of 4") {
		t.Errorf("MaxMaterialize: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "absent.npy"), ""); err == nil {
		t.Error("absent file loads")
	}
}

func TestParseOrder(t *testing.T) {
	for in, want := range map[string][]string{
		`["b", "a"]`:               {"b", "a"},
		"b\na\n":                   {"b", "a"},
		"# comment\nb, a\r\n\n c ": {"b", "a", "c"},
		"":                         {},
	} {
		got, err := ParseOrder(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseOrder(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseOrder(`["a"`); err == nil {
		t.Error("a broken JSON list was accepted")
	}
}
