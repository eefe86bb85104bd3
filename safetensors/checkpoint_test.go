package safetensors

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// facts renders entries as "name dtype shape" lines, sorted by name.
func facts(es []Entry) []string {
	var s []string
	for _, e := range es {
		s = append(s, fmt.Sprintf("%s %s %v", e.Name, e.DType, e.Shape))
	}
	slices.Sort(s)
	return s
}

func TestOpenRealData(t *testing.T) {
	root := testenv.RealData(t)
	tests := []struct {
		path          string
		tensors       int
		params, bytes int64
		shapesKnown   bool
		files         int
		note          string
		meta          string // one metadata key=value, "" to skip
	}{
		{"safetensors/burn_mnist_with_bn_scalars.safetensors", 20, 376940, 1507768, true, 1, "", ""},
		{"safetensors/SafeTensors.jl/non_sharded/model.with_metadata.safetensors", 36, 1476, 4305, true, 1, "", ""},
		{"safetensors/SafeTensors.jl/sharded", 36, 1476, 4305, true, 6, "", "total_size=4305"},
		{"safetensors/SafeTensors.jl/sharded/model.safetensors.index.json", 36, 1476, 4305, true, 6, "", "total_size=4305"},
		{"index_json/llama-3.1-70b_Reflection_model.safetensors.index.json", 723, 0, 282215219200, false, 0,
			"index only: the 162 shard files are absent, so shapes and dtypes are unknown", "total_size=282215219200"},
		{"index_json/mistral_Devstral-Small-2507_model.safetensors.index.json", 363, 23572403200, 47144806400, false, 0,
			"index only: the 10 shard files are absent, so shapes and dtypes are unknown", "total_parameters=23572403200"},
		{"index_json/mixtral-8x22b_WizardLM-2_model.safetensors.index.json", 1739, 0, 0, false, 0, "shard files are absent", ""},
		{"index_json/qwen2.5-14b_sakura_model.safetensors.index.json", 579, 0, 0, false, 0, "shard files are absent", ""},
		{"index_json/edge_placeholder_empty_weight_map.index.json", 0, 0, 0, true, 0, "the index lists no tensors", "total_size=0"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			c, err := Open(filepath.Join(root, tt.path))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			n, params, bytes := c.Totals()
			if n != tt.tensors || (tt.params != 0 || tt.shapesKnown) && params != tt.params || (tt.bytes != 0 || tt.shapesKnown) && bytes != tt.bytes {
				t.Errorf("Totals = %d, %d, %d; want %d, %d, %d", n, params, bytes, tt.tensors, tt.params, tt.bytes)
			}
			if c.ShapesKnown != tt.shapesKnown || len(c.Files) != tt.files {
				t.Errorf("ShapesKnown, files = %v, %d; want %v, %d", c.ShapesKnown, len(c.Files), tt.shapesKnown, tt.files)
			}
			if notes := strings.Join(c.Notes, "\n"); tt.note == "" && notes != "" || !strings.Contains(notes, tt.note) {
				t.Errorf("Notes = %q, want %q", c.Notes, tt.note)
			}
			if k, v, ok := strings.Cut(tt.meta, "="); ok && c.Metadata[k] != v {
				t.Errorf("Metadata = %v, want %s", c.Metadata, tt.meta)
			}
			names := map[string]bool{}
			for _, e := range c.Entries {
				if names[e.Name] {
					t.Errorf("%s listed twice", e.Name)
				}
				names[e.Name] = true
				if (e.Shape != nil) != tt.shapesKnown || (e.Shard != "") != tt.shapesKnown {
					t.Errorf("%s: shape %v, shard %q", e.Name, e.Shape, e.Shard)
				}
			}
		})
	}
}

// The six SafeTensors.jl shards together hold exactly the non-sharded file's tensors.
func TestShardedEqualsNonSharded(t *testing.T) {
	root := testenv.RealData(t)
	one, err := Open(filepath.Join(root, "safetensors/SafeTensors.jl/non_sharded/model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sharded, err := Open(filepath.Join(root, "safetensors/SafeTensors.jl/sharded"))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := facts(sharded.Entries), facts(one.Entries); !slices.Equal(g, w) {
		t.Errorf("sharded\n%s\nnon-sharded\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	// and byte for byte
	for _, e := range one.Entries {
		a, err := one.Reader(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := sharded.Reader(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		da, _ := io.ReadAll(a)
		db, _ := io.ReadAll(b)
		if string(da) != string(db) || int64(len(da)) != e.Bytes() {
			t.Errorf("%s: %d bytes vs %d", e.Name, len(da), len(db))
		}
	}
	if err := one.Close(); err != nil {
		t.Error(err)
	}
	if err := sharded.Close(); err != nil {
		t.Error(err)
	}
	// Entries: shards in order, offset order within each.
	var shards []string
	for _, e := range sharded.Entries {
		if s := filepath.Base(e.Shard); !slices.Contains(shards, s) {
			shards = append(shards, s)
		}
	}
	if !slices.IsSorted(shards) || len(shards) != 6 {
		t.Errorf("shard order %v", shards)
	}
}

func TestOpenRealDataErrors(t *testing.T) {
	root := testenv.RealData(t)
	tests := []struct{ path, want string }{
		{"safetensors/SafeTensors.jl/non_sharded", `non_sharded: tensor "int64_3" is in both `},
		{"safetensors/hf_safetensors_samples", `hf_safetensors_samples: tensor "B" is in both `},
		{"index_json", "index_json: 5 index files (edge_placeholder_empty_weight_map.index.json, "},
		{"safetensors/malformed", "safetensors_abuse_attempt_1.safetensors: header length 1000 runs past the end of the file (88 bytes)"},
	}
	for _, tt := range tests {
		_, err := Open(filepath.Join(root, tt.path))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %s", tt.path, err, tt.want)
		}
	}
}

// shardFile makes a safetensors file holding U8 tensors of 1 byte each.
func shardFile(names ...string) []byte {
	var parts []string
	for i, n := range names {
		parts = append(parts, fmt.Sprintf(`%q:{"dtype":"U8","shape":[1],"data_offsets":[%d,%d]}`, n, i, i+1))
	}
	return build("{"+strings.Join(parts, ",")+"}", len(names))
}

func TestOpenIndex(t *testing.T) {
	const index = "model.safetensors.index.json"
	tests := []struct {
		name  string
		files map[string]string // file name -> JSON index, or tensor names separated by spaces for a shard
		want  string            // error text, or the entries "name@shard" when no error
	}{
		{"ok",
			map[string]string{index: `{"metadata":{"total_size":3},"weight_map":{"a":"s-2.safetensors","b":"s-10.safetensors","c":"s-2.safetensors"}}`,
				"s-2.safetensors": "c a", "s-10.safetensors": "b"},
			"c@s-2.safetensors a@s-2.safetensors b@s-10.safetensors"},
		{"CRLF, extra keys, subdirectory",
			map[string]string{index: "{\r\n \"x\": [1],\r\n \"weight_map\": {\r\n  \"a\": \"sub/s.safetensors\"\r\n }\r\n}\r\n", "sub/s.safetensors": "a"},
			"a@sub/s.safetensors"},
		{"some shards missing",
			map[string]string{index: `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s3.safetensors"}}`, "s2.safetensors": "b"},
			"2 of 3 shard files are missing: s1.safetensors, s3.safetensors"},
		{"name not in its shard",
			map[string]string{index: `{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}}`, "s1.safetensors": "a"},
			`the index and its shards disagree (1 problems):` + "\n\t" + `tensor "b": the index puts it in s1.safetensors, which does not have it`},
		{"name in another shard",
			map[string]string{index: `{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}}`, "s1.safetensors": "a", "s2.safetensors": "b"},
			`tensor "b": the index puts it in s1.safetensors, which does not have it`},
		{"wrong shard",
			map[string]string{index: `{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors"}}`, "s1.safetensors": "a c", "s2.safetensors": "b"},
			`disagree (2 problems):` + "\n\t" + `tensor "b": the index puts it in s1.safetensors, but it is in s2.safetensors` + "\n\t" + `tensor "c": the index puts it in s2.safetensors, but it is in s1.safetensors`},
		{"shard tensor not listed",
			map[string]string{index: `{"weight_map":{"a":"s1.safetensors"}}`, "s1.safetensors": "a z"},
			`tensor "z" in s1.safetensors is not listed in the index`},
		{"same name in two shards",
			map[string]string{index: `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}`, "s1.safetensors": "a", "s2.safetensors": "b a"},
			`tensor "a" is in both `},
		{"shard outside the directory",
			map[string]string{index: `{"weight_map":{"a":"../s1.safetensors"}}`},
			`weight_map: tensor "a": shard "../s1.safetensors" is not a file name in the index's directory`},
		{"shard not a string",
			map[string]string{index: `{"weight_map":{"a":1}}`},
			`weight_map: tensor "a": shard 1 is not a string`},
		{"duplicate name",
			map[string]string{index: `{"weight_map":{"a":"s","a":"s"}}`},
			`duplicate key "a"`},
		{"no weight_map", map[string]string{index: `{"metadata":{}}`}, "no weight_map"},
		{"bad JSON", map[string]string{index: `{"weight_map":`}, "bad JSON: unexpected end"},
		{"bad shard", map[string]string{index: `{"weight_map":{"a":"s1.safetensors"}}`, "s1.safetensors": "!"}, "s1.safetensors: file is 3 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				b := []byte(body)
				if strings.HasSuffix(name, ".safetensors") {
					b = shardFile(strings.Fields(body)...)
					if body == "!" {
						b = []byte("abc")
					}
				}
				testenv.WriteFile(t, dir, name, b)
			}
			for _, arg := range []string{dir, filepath.Join(dir, index)} {
				c, err := Open(arg)
				if err != nil {
					if !strings.Contains(err.Error(), tt.want) {
						t.Errorf("Open(%s): err = %v\nwant %s", arg, err, tt.want)
					}
					continue
				}
				var got []string
				for _, e := range c.Entries {
					rel, _ := filepath.Rel(dir, e.Shard)
					got = append(got, e.Name+"@"+rel)
				}
				if g := strings.Join(got, " "); g != tt.want {
					t.Errorf("Open(%s): entries %s, want %s", arg, g, tt.want)
				}
				if c.Source != arg || c.Index != filepath.Join(dir, index) {
					t.Errorf("Source, Index = %s, %s", c.Source, c.Index)
				}
			}
		})
	}
}

func TestOpenDir(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteFile(t, dir, "m-10.safetensors", shardFile("c"))
	testenv.WriteFile(t, dir, "m-9.safetensors", shardFile("b", "a"))
	testenv.WriteFile(t, dir, "notes.txt", []byte("x"))
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range c.Entries {
		got = append(got, e.Name+"@"+filepath.Base(e.Shard))
	}
	if g, w := strings.Join(got, " "), "b@m-9.safetensors a@m-9.safetensors c@m-10.safetensors"; g != w {
		t.Errorf("entries %s, want %s", g, w)
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no *.safetensors or *.index.json files") {
		t.Errorf("empty dir: err = %v", err)
	}
}

func TestOpenMergedMetadata(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteFile(t, dir, "a.safetensors", build(`{"__metadata__":{"format":"pt","x":"1"}}`, 0))
	testenv.WriteFile(t, dir, "b.safetensors", build(`{"__metadata__":{"format":"pt","x":"2","y":"3"}}`, 0))
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if g := fmt.Sprint(c.Metadata); g != "map[format:pt x:1 y:3]" {
		t.Errorf("Metadata = %s", g)
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], `__metadata__ "x" is "2" in `) {
		t.Errorf("Notes = %q", c.Notes)
	}
}

func TestReader(t *testing.T) {
	dir := t.TempDir()
	b := build(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U16","shape":[1],"data_offsets":[2,4]}}`, 0)
	b = append(b, 1, 2, 3, 4)
	path := testenv.WriteFile(t, dir, "m.safetensors", b)
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Reader("b")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != "\x03\x04" {
		t.Errorf("b = %q", got)
	}
	if _, err := c.Reader("zz"); err == nil || err.Error() != path+`: no tensor "zz"` {
		t.Errorf("err = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}

	idx := testenv.WriteFile(t, dir, "x.index.json", []byte(`{"weight_map":{"a":"absent.safetensors"}}`))
	c, err = Open(idx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reader("a"); err == nil || !strings.Contains(err.Error(), "shard files are absent") {
		t.Errorf("err = %v", err)
	}
	if len(c.Notes) != 1 || c.Notes[0] != "index only: the 1 shard file is absent, so shapes and dtypes are unknown" {
		t.Errorf("Notes = %q", c.Notes)
	}
}

func TestOpenAbsent(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "none")); !os.IsNotExist(err) {
		t.Errorf("err = %v", err)
	}
}

func TestParseIndexMetadata(t *testing.T) {
	meta, refs, err := parseIndex([]byte(`{"metadata": {"total_size": 4305, "format": "pt", "n": null, "o": {"k": [1, 2]}, "f": 1.5e3},
		"weight_map": {"b": "./s.safetensors", "a": "s.safetensors"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if g := fmt.Sprint(meta); g != `map[f:1.5e3 format:pt n:null o:{"k":[1,2]} total_size:4305]` {
		t.Errorf("metadata = %s", g)
	}
	if g := fmt.Sprint(refs); g != "[{b s.safetensors} {a s.safetensors}]" {
		t.Errorf("refs = %s", g)
	}
}

// FuzzParseIndex is seeded with the corpus's index files.
//
//	go test -run '^$' -fuzz FuzzParseIndex -fuzztime 20s -fuzzminimizetime 2s ./safetensors
func FuzzParseIndex(f *testing.F) {
	if root, ok := testenv.FindRealData(); ok {
		files, _ := filepath.Glob(filepath.Join(root, "index_json/*.json"))
		files = append(files, filepath.Join(root, "safetensors/SafeTensors.jl/sharded/model.safetensors.index.json"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"metadata":{"total_size":1},"weight_map":{"a":"../x","b":1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, refs, err := parseIndex(b)
		if err != nil {
			return
		}
		names := map[string]bool{}
		for _, r := range refs {
			if names[r.name] || !filepath.IsLocal(r.shard) {
				t.Fatalf("accepted %+v", r)
			}
			names[r.name] = true
		}
	})
}
