package tensorfile

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/refcmp/refcmp/safetensors"
	"github.com/refcmp/refcmp/tensor"
)

// OrderKey is the safetensors __metadata__ entry that gives an explicit
// execution order: a JSON list of names, or names separated by commas or
// newlines.
const OrderKey = "refcmp.order"

// maxIndexJSON bounds the size of a file sniffed as a sharded index.
const maxIndexJSON = 64 << 20

// indexKind tells whether a .json file is a sharded-checkpoint index, a
// JSON object with a "weight_map" object, and of which shards: it returns
// FormatSafetensorsIndex, FormatPyTorchIndex (every shard a .bin, .pt,
// .pth or .ckpt file) or "".
func indexKind(name string, f io.ReaderAt, size int64) string {
	if !strings.HasSuffix(strings.ToLower(name), ".json") || size > maxIndexJSON {
		return ""
	}
	b := make([]byte, size)
	if n, _ := f.ReadAt(b, 0); int64(n) != size {
		return ""
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return ""
	}
	wm, ok := top["weight_map"]
	if !ok {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(wm, &m) != nil {
		return ""
	}
	torch := len(m) > 0
	for _, v := range m {
		var s string
		if json.Unmarshal(v, &s) != nil || !isTorchShard(s) {
			torch = false
			break
		}
	}
	if torch {
		return FormatPyTorchIndex
	}
	return FormatSafetensorsIndex
}

// openSafetensors opens a safetensors file, index or directory through
// package safetensors; tensor data are sections of the shard files.
func openSafetensors(path string, cfg config) (*Container, error) {
	ck, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	c := &Container{Source: path, Format: FormatSafetensors, Notes: append([]string(nil), ck.Notes...)}
	if ck.Index != "" {
		c.Format = FormatSafetensorsIndex
	}
	c.closers = append(c.closers, ck)
	if !ck.ShapesKnown && len(ck.Entries) > 0 && !cfg.headerOnly {
		c.Close()
		return nil, fmt.Errorf("%s: the shard files are absent, so there is no tensor data to compare", path)
	}
	for _, e := range ck.Entries {
		t := tensor.Tensor{Name: e.Name, DType: e.DType, Shape: e.Shape}
		if !cfg.headerOnly {
			r, err := ck.Reader(e.Name)
			if err != nil {
				c.Close()
				return nil, err
			}
			t.Data = r
		}
		c.Tensors = append(c.Tensors, t)
	}
	if s, ok := ck.Metadata[OrderKey]; ok {
		if c.Order, err = ParseOrder(s); err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: __metadata__ %q: %w", path, OrderKey, err)
		}
	}
	return c, nil
}

// ParseOrder reads a list of tensor names in execution order, as the
// refcmp.order metadata entry and refcmp tensors --order FILE hold it: a
// JSON list of strings, or names separated by newlines or commas (blank
// entries and lines starting with # skipped). It is refcmp's one parser of
// such lists.
func ParseOrder(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var names []string
		if err := json.Unmarshal([]byte(s), &names); err != nil {
			return nil, fmt.Errorf("not a JSON list of names: %v", err)
		}
		return names, nil
	}
	names := []string{}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, f := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == '\r' }) {
			if f = strings.TrimSpace(f); f != "" {
				names = append(names, f)
			}
		}
	}
	return names, nil
}

// listSafetensors lists a safetensors file, index or directory from its
// headers alone.
func listSafetensors(path string) (tensor.Listing, error) {
	ck, err := safetensors.Open(path)
	if err != nil {
		return tensor.Listing{}, err
	}
	defer ck.Close()
	if s, ok := ck.Metadata[OrderKey]; ok {
		if _, err := ParseOrder(s); err != nil { // refused as Open refuses it
			return tensor.Listing{}, fmt.Errorf("%s: __metadata__ %q: %w", path, OrderKey, err)
		}
	}
	l := tensor.Listing{Source: path, Notes: append([]string(nil), ck.Notes...)}
	l.Weights = make([]tensor.Info, 0, len(ck.Entries))
	for _, e := range ck.Entries {
		l.Weights = append(l.Weights, tensor.Info{Name: e.Name, DType: e.DType, Shape: e.Shape})
	}
	return l, nil
}

// isSafetensorsDir reports whether a directory is a safetensors checkpoint:
// it holds an index or *.safetensors files, and no other tensor files
// (those make it a directory of dumps, paired by relative path) except
// the ones Hugging Face keeps beside safetensors weights: the same weights
// as pytorch_model*.bin, and a Trainer's training_args.bin, optimizer.pt,
// scheduler.pt, scaler.pt and rng_state*.pth.
func isSafetensorsDir(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	st := false
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		switch {
		case strings.HasSuffix(name, ".safetensors"), strings.HasSuffix(name, ".safetensors.index.json"):
			st = true
		case hfSideFile(name):
		case dumpExt(name):
			return false, nil
		}
	}
	return st, nil
}

// hfSideFile reports whether a file name is one Hugging Face writes beside
// safetensors weights (see isSafetensorsDir).
func hfSideFile(name string) bool {
	switch {
	case strings.HasPrefix(name, "pytorch_model") && strings.HasSuffix(name, ".bin"),
		strings.HasPrefix(name, "rng_state") && strings.HasSuffix(name, ".pth"):
		return true
	}
	switch name {
	case "training_args.bin", "optimizer.pt", "scheduler.pt", "scaler.pt":
		return true
	}
	return false
}
