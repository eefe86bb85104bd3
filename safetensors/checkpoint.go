package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/refcmp/refcmp/internal/fileio"
	"github.com/refcmp/refcmp/tensor"
)

// Checkpoint is a single safetensors file, a sharded checkpoint's index
// (model.safetensors.index.json) or a directory holding either.
type Checkpoint struct {
	Source string  // path as given
	Index  string  // index.json path, "" if none
	Files  []*File // shard headers that were opened
	// Entries lists every tensor: files in natural file-name order
	// (model-2 before model-10), data-offset order within a file. For an
	// index whose shard files are absent, the index's order.
	Entries []Entry
	// ShapesKnown is false for an index whose shard files are all absent:
	// Entries then have names only (Unknown dtype, nil shape).
	ShapesKnown bool
	// Metadata is the files' merged __metadata__, or an index's "metadata"
	// with each value rendered as a string (JSON numbers as written).
	Metadata map[string]string
	Notes    []string // facts a reader should know

	mu     sync.Mutex
	byName map[string]int
	open   map[string]*os.File
}

// Entry is one tensor of a checkpoint.
type Entry struct {
	Tensor
	Shard string // the file holding the tensor; "" when absent
}

// Open opens a checkpoint's headers: a safetensors file, an index (a path
// ending in .json), or a directory. A directory's model.safetensors.index.json
// is used if present, else its one *.index.json, else all its *.safetensors
// files, which must not share a tensor name.
//
// An index opens every shard's header and checks that the index and the
// shards list the same tensors in the same places. When all shard files are
// absent it lists names only (ShapesKnown false, with a Note); when only
// some are absent it is an error naming them.
func Open(path string) (*Checkpoint, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return openDir(path)
	}
	if strings.HasSuffix(strings.ToLower(path), ".json") {
		return openIndex(path, path)
	}
	f, err := ReadHeader(path)
	if err != nil {
		return nil, err
	}
	return fromFiles(path, []*File{f})
}

func openDir(dir string) (*Checkpoint, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var indexes, files []string
	for _, e := range ents {
		name := e.Name()
		switch {
		case e.IsDir():
		case name == "model.safetensors.index.json":
			return openIndex(dir, filepath.Join(dir, name))
		case strings.HasSuffix(name, ".index.json"):
			indexes = append(indexes, name)
		case strings.HasSuffix(name, ".safetensors"):
			files = append(files, name)
		}
	}
	switch {
	case len(indexes) == 1:
		return openIndex(dir, filepath.Join(dir, indexes[0]))
	case len(indexes) > 1:
		return nil, fmt.Errorf("%s: %d index files (%s): name the one to use", dir, len(indexes), strings.Join(indexes, ", "))
	case len(files) == 0:
		return nil, fmt.Errorf("%s: no *.safetensors or *.index.json files", dir)
	}
	slices.SortFunc(files, tensor.NaturalCompare)
	var hs []*File
	for _, name := range files {
		f, err := ReadHeader(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		hs = append(hs, f)
	}
	return fromFiles(dir, hs)
}

// fromFiles makes a checkpoint of files that must not share a name.
func fromFiles(source string, files []*File) (*Checkpoint, error) {
	c := &Checkpoint{Source: source, Files: files, ShapesKnown: true}
	where := map[string]string{}
	for _, f := range files {
		for _, t := range f.Tensors {
			if w, ok := where[t.Name]; ok {
				return nil, fmt.Errorf("%s: tensor %q is in both %s and %s", source, t.Name, w, f.Path)
			}
			where[t.Name] = f.Path
			c.Entries = append(c.Entries, Entry{t, f.Path})
		}
		c.mergeMetadata(f)
	}
	return c, nil
}

// mergeMetadata adds f's __metadata__; the first file's value wins, and a
// differing later value gets a Note.
func (c *Checkpoint) mergeMetadata(f *File) {
	if f.Metadata != nil && c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	keys := make([]string, 0, len(f.Metadata))
	for k := range f.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, ok := c.Metadata[k]
		switch {
		case !ok:
			c.Metadata[k] = f.Metadata[k]
		case v != f.Metadata[k]:
			c.Notes = append(c.Notes, fmt.Sprintf("__metadata__ %q is %q in %s but %q in an earlier file; showing the first", k, f.Metadata[k], f.Path, v))
		}
	}
}

// MaxIndexSize bounds the bytes of a sharded index read whole (the
// weight_map of a million tensors is under 100 MB).
const MaxIndexSize = 256 << 20

// openIndex opens the index file index; source is the path as given.
func openIndex(source, index string) (*Checkpoint, error) {
	data, err := fileio.ReadFile(index, MaxIndexSize, "a sharded index")
	if err != nil {
		return nil, err
	}
	meta, refs, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", index, err)
	}
	c := &Checkpoint{Source: source, Index: index, Metadata: meta}

	var shards, missing []string
	shardOf := map[string]string{}
	seen := map[string]bool{}
	for _, r := range refs {
		shardOf[r.name] = r.shard
		if !seen[r.shard] {
			seen[r.shard] = true
			shards = append(shards, r.shard)
		}
	}
	slices.SortFunc(shards, tensor.NaturalCompare)
	dir := filepath.Dir(index)
	for _, s := range shards {
		_, err := os.Stat(filepath.Join(dir, s))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, s)
		case err != nil:
			return nil, err
		}
	}

	switch {
	case len(refs) == 0:
		c.ShapesKnown = true
		c.Notes = append(c.Notes, "the index lists no tensors")
		return c, nil
	case len(missing) == len(shards):
		for _, r := range refs {
			c.Entries = append(c.Entries, Entry{Tensor: Tensor{Name: r.name}})
		}
		files := "the 1 shard file is"
		if len(shards) > 1 {
			files = fmt.Sprintf("the %d shard files are", len(shards))
		}
		c.Notes = append(c.Notes, fmt.Sprintf("index only: %s absent, so shapes and dtypes are unknown", files))
		return c, nil
	case len(missing) > 0:
		return nil, fmt.Errorf("%s: %d of %d shard files are missing: %s", index, len(missing), len(shards), list(missing, 10, ", "))
	}

	var files []*File
	for _, s := range shards {
		f, err := ReadHeader(filepath.Join(dir, s))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	cp, err := fromFiles(source, files)
	if err != nil {
		return nil, err
	}
	c.Files, c.Entries, c.ShapesKnown = cp.Files, cp.Entries, true
	c.Notes = append(c.Notes, cp.Notes...)

	// The index and the shards must agree on every name and its shard.
	in := map[string]string{} // name -> shard, as the index spells it, from the files
	for _, e := range c.Entries {
		rel, _ := filepath.Rel(dir, e.Shard)
		in[e.Name] = filepath.ToSlash(rel)
	}
	var problems []string
	for _, r := range refs {
		got, ok := in[r.name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("tensor %q: the index puts it in %s, which does not have it", r.name, r.shard))
		case got != r.shard:
			problems = append(problems, fmt.Sprintf("tensor %q: the index puts it in %s, but it is in %s", r.name, r.shard, got))
		}
	}
	for _, e := range c.Entries {
		if _, ok := shardOf[e.Name]; !ok {
			problems = append(problems, fmt.Sprintf("tensor %q in %s is not listed in the index", e.Name, in[e.Name]))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: the index and its shards disagree (%d problems):\n\t%s", index, len(problems), list(problems, 20, "\n\t"))
	}
	if ts, ok := c.Metadata["total_size"]; ok {
		_, _, b := c.Totals()
		if ts != strconv.FormatInt(b, 10) {
			c.Notes = append(c.Notes, fmt.Sprintf("the index's total_size is %s, but the shards' tensors hold %d bytes", ts, b))
		}
	}
	return c, nil
}

// ref is one weight_map entry: a tensor name and its shard file.
type ref struct{ name, shard string }

// parseIndex reads an index's "metadata" (values rendered as strings, JSON
// numbers as written) and "weight_map" (in written order). Other keys are
// ignored.
func parseIndex(data []byte) (map[string]string, []ref, error) {
	var meta map[string]string
	var refs []ref
	hasMap := false
	err := members(data, func(key string, val []byte, _ int64) error {
		switch key {
		case "metadata":
			if string(val) == "null" {
				return nil
			}
			meta = map[string]string{}
			err := members(val, func(k string, v []byte, _ int64) error {
				var b bytes.Buffer
				json.Compact(&b, v)
				s := b.String()
				if v[0] == '"' {
					json.Unmarshal(v, &s)
				}
				meta[k] = s
				return nil
			})
			if err != nil {
				return fmt.Errorf("metadata: %w", err)
			}
		case "weight_map":
			hasMap = true
			err := members(val, func(name string, v []byte, _ int64) error {
				var shard string
				if json.Unmarshal(v, &shard) != nil {
					return fmt.Errorf("tensor %q: shard %s is not a string", name, short(v))
				}
				if !filepath.IsLocal(shard) {
					return fmt.Errorf("tensor %q: shard %q is not a file name in the index's directory", name, shard)
				}
				refs = append(refs, ref{name, path.Clean(filepath.ToSlash(shard))})
				return nil
			})
			if err != nil {
				return fmt.Errorf("weight_map: %w", err)
			}
		}
		return nil
	})
	if err == nil && !hasMap {
		err = errors.New("no weight_map")
	}
	return meta, refs, err
}

// list joins up to max items with sep, saying how many more there are.
func list(items []string, max int, sep string) string {
	if len(items) <= max {
		return strings.Join(items, sep)
	}
	return fmt.Sprintf("%s%sand %d more", strings.Join(items[:max], sep), sep, len(items)-max)
}

// Totals counts tensors, parameters and data bytes. For an index whose
// shard files are absent, parameters and bytes are the index metadata's
// total_parameters and total_size (0 when it does not give them).
func (c *Checkpoint) Totals() (tensors int, params, bytes int64) {
	if !c.ShapesKnown {
		params, _ = strconv.ParseInt(c.Metadata["total_parameters"], 10, 64)
		bytes, _ = strconv.ParseInt(c.Metadata["total_size"], 10, 64)
		return len(c.Entries), params, bytes
	}
	for _, e := range c.Entries {
		params += e.Numel()
		bytes += e.Bytes()
	}
	return len(c.Entries), params, bytes
}

// Reader returns the data of the named tensor. Shard files are opened on
// first use and stay open until Close. It is safe for concurrent use.
func (c *Checkpoint) Reader(name string) (*io.SectionReader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byName == nil {
		c.byName = make(map[string]int, len(c.Entries))
		for i, e := range c.Entries {
			c.byName[e.Name] = i
		}
	}
	i, ok := c.byName[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", c.Source, name)
	}
	e := c.Entries[i]
	if e.Shard == "" {
		return nil, fmt.Errorf("%s: tensor %q: no data, the shard files are absent", c.Source, name)
	}
	f := c.open[e.Shard]
	if f == nil {
		var err error
		if f, err = fileio.Open(e.Shard); err != nil {
			return nil, err
		}
		if c.open == nil {
			c.open = map[string]*os.File{}
		}
		c.open[e.Shard] = f
	}
	return io.NewSectionReader(f, e.Begin, e.End-e.Begin), nil
}

// Close closes the shard files Reader opened.
func (c *Checkpoint) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.open)) {
		errs = append(errs, c.open[name].Close())
	}
	c.open = nil
	return errors.Join(errs...)
}
