package tensorfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/internal/fileio"
	"github.com/refcmp/refcmp/safetensors"
	"github.com/refcmp/refcmp/tensor"
)

// FormatPyTorchIndex is a sharded PyTorch checkpoint: an index such as
// pytorch_model.bin.index.json whose weight_map names .bin/.pt shards.
const FormatPyTorchIndex = "pytorch-index"

// torchIndex is the part of a sharded-checkpoint index refcmp reads.
type torchIndex struct {
	names  []string          // in the index's order
	shards map[string]string // name -> shard file name
}

// readWeightMap reads an index's weight_map keeping its order.
func readWeightMap(path string) (torchIndex, error) {
	var ix torchIndex
	b, err := fileio.ReadFile(path, safetensors.MaxIndexSize, "a sharded index")
	if err != nil {
		return ix, err
	}
	var top struct {
		WeightMap json.RawMessage `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return ix, fmt.Errorf("%s: %v", path, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(top.WeightMap)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ix, fmt.Errorf("%s: weight_map is not an object", path)
	}
	ix.shards = map[string]string{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return ix, fmt.Errorf("%s: weight_map: %v", path, err)
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return ix, fmt.Errorf("%s: weight_map[%q] is not a file name", path, k)
		}
		name := k.(string)
		if _, dup := ix.shards[name]; dup {
			return ix, fmt.Errorf("%s: weight_map lists %q twice", path, name)
		}
		if v == "" || strings.ContainsAny(v, `/\`) || v == "." || v == ".." {
			return ix, fmt.Errorf("%s: weight_map[%q] = %q is not a file name beside the index", path, name, v)
		}
		ix.names = append(ix.names, name)
		ix.shards[name] = v
	}
	return ix, nil
}

// isTorchShard reports whether an index's shard file name is a PyTorch
// one (pytorch_model-00001-of-00002.bin, model.pt...).
func isTorchShard(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".bin", ".pt", ".pth", ".ckpt":
		return true
	}
	return false
}

// torchIndexIn finds a sharded PyTorch index at the top of dir.
func torchIndexIn(dir string) (string, bool) {
	m, _ := filepath.Glob(filepath.Join(dir, "*.bin.index.json"))
	if len(m) == 1 {
		return m[0], true
	}
	return "", false
}

// openTorchIndex opens every shard an index names and checks that each
// name is in its shard. Tensors come in shard order (the index's order of
// first appearance), each shard in its insertion order. In header-only
// mode, an index whose shards are all absent lists names only.
func openTorchIndex(path string, cfg config) (*Container, error) {
	ix, err := readWeightMap(path)
	if err != nil {
		return nil, err
	}
	c := &Container{Source: path, Format: FormatPyTorchIndex, Ordered: true}
	var files []string
	for _, n := range ix.names {
		if f := ix.shards[n]; !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	dir := filepath.Dir(path)
	var absent []string
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			absent = append(absent, f)
		}
	}
	if len(absent) > 0 {
		if len(absent) == len(files) && cfg.headerOnly {
			for _, n := range ix.names {
				c.Tensors = append(c.Tensors, tensor.Tensor{Name: n})
			}
			c.Notes = append(c.Notes, fmt.Sprintf("the %d shard files are absent: names only, no shapes or dtypes", len(files)))
			return c, nil
		}
		return nil, fmt.Errorf("%s: shard files absent: %s", path, strings.Join(absent, ", "))
	}
	for _, f := range files {
		p := filepath.Join(dir, f)
		fi, err := os.Stat(p)
		if err != nil {
			c.Close()
			return nil, err
		}
		kind, err := sniffFile(p, fi.Size())
		if err == nil && kind != FormatPyTorchZip && kind != FormatPyTorchLegacy {
			err = fmt.Errorf("%s: shard of %s is not a PyTorch checkpoint", p, path)
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		sub, err := openKind(p, kind, fi.Size(), cfg)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.closers = append(c.closers, sub)
		for _, n := range sub.Notes {
			c.Notes = append(c.Notes, f+": "+n)
		}
		have := map[string]bool{}
		for _, t := range sub.Tensors {
			have[t.Name] = true
			switch want, ok := ix.shards[t.Name]; {
			case !ok:
				c.Notes = append(c.Notes, fmt.Sprintf("%s: tensor %q is not in the index", f, t.Name))
			case want != f:
				c.Close()
				return nil, fmt.Errorf("%s: tensor %q is in %s, the index says %s", path, t.Name, f, want)
			}
			c.Tensors = append(c.Tensors, t)
		}
		for _, n := range ix.names {
			if ix.shards[n] == f && !have[n] {
				c.Close()
				return nil, fmt.Errorf("%s: tensor %q is not in its shard %s", path, n, f)
			}
		}
	}
	return c, nil
}
