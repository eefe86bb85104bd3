package tensorfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/refcmp/refcmp/internal/fileio"
	"github.com/refcmp/refcmp/safetensors"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// DefaultMaxMaterialize is the default bound on the bytes one tensor may
// occupy in memory when it cannot be read in place: Fortran-order and
// strided tensors, deflated npz members, compressed archive members.
const DefaultMaxMaterialize = 1 << 30

// Options says how to read inputs that do not describe themselves.
// Zero values mean "not given".
type Options struct {
	// DType and Shape describe a raw .bin file. A sidecar NAME.json fills
	// what they leave unset; the defaults are F32 and a 1-D shape covering
	// the whole file.
	DType tensor.DType
	Shape []int64
	// MaxMaterialize bounds the bytes of one tensor held in memory when it
	// must be converted or decompressed; 0 means DefaultMaxMaterialize.
	MaxMaterialize int64
}

// config is Options plus how the reading is done.
type config struct {
	Options
	// headerOnly reads headers and checks placements but no tensor data
	// (for List): Tensor.Data stays nil.
	headerOnly bool
	// cache bounds the bytes held by decompressed members and reordered
	// tensors across one Open.
	cache *memCache
}

func (c config) maxMem() int64 {
	if c.MaxMaterialize > 0 {
		return c.MaxMaterialize
	}
	return DefaultMaxMaterialize
}

// Format names, as found in Container.Format.
const (
	FormatSafetensors      = "safetensors"
	FormatSafetensorsIndex = "safetensors-index"
	FormatNpy              = "npy"
	FormatNpz              = "npz"
	FormatPyTorchZip       = "pytorch-zip"
	FormatPyTorchLegacy    = "pytorch-legacy"
	FormatRaw              = "raw"
	FormatDir              = "dir"
	FormatGGUF             = "gguf"
)

// Container is an opened input: one tensor or many, with their data.
type Container struct {
	Source  string          // the path as given
	Format  string          // one of the Format constants
	Tensors []tensor.Tensor // in the source's own order (npz member order, .pt insertion order, safetensors offset order)
	// Ordered reports that the source keeps an insertion order (npz, .pt)
	// worth using as execution order.
	Ordered bool
	// Order is an explicit execution order from the safetensors
	// __metadata__ entry "refcmp.order" (a JSON list, or names separated by
	// commas or newlines); nil when absent.
	Order []string
	// Single reports one unnamed tensor (npy, raw, a .pt holding a bare
	// tensor). Its Name is the file's base name.
	Single bool
	// Notes are facts a reader should know, e.g. non-tensor values skipped
	// in a PyTorch checkpoint.
	Notes []string
	// GGUF is the header of a GGUF file (metadata for a preset's
	// transforms); nil for other formats.
	GGUF *gguf.File

	closers []io.Closer
}

// Close releases the files the container holds open. Tensor data is not
// readable afterwards.
func (c *Container) Close() error {
	if c == nil {
		return nil
	}
	var errs []error
	for i := len(c.closers) - 1; i >= 0; i-- {
		if err := c.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	c.closers = nil
	return errors.Join(errs...)
}

// InternalError is a panic recovered while reading Path: a bug in refcmp
// or a library it uses, not a fault of the file. The CLI gives it its own
// exit status so that CI can tell it from a bad input.
type InternalError struct {
	Path  string
	Panic any
}

func (e *InternalError) Error() string {
	return fmt.Sprintf("%s: internal error while reading (please report it): %v", e.Path, e.Panic)
}

// Open opens path, detecting its format by content: a directory, a
// safetensors file or index, .npy, .npz, a PyTorch checkpoint, or else a
// raw tensor file (described by opts and an optional sidecar JSON).
func Open(path string, opts Options) (c *Container, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, &InternalError{Path: path, Panic: r}
		}
	}()
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	cfg := config{Options: opts}
	cfg.cache = newMemCache(2 * cfg.maxMem())
	if fi.IsDir() {
		return openDir(path, cfg)
	}
	if err := fileio.Regular(path, fi); err != nil {
		return nil, err
	}
	kind, err := sniffFile(path, fi.Size())
	if err != nil {
		return nil, err
	}
	if kind == "" && (opts.DType != tensor.Unknown || opts.Shape != nil) {
		kind = FormatRaw
	}
	return openKind(path, kind, fi.Size(), cfg)
}

func openKind(path, kind string, size int64, cfg config) (*Container, error) {
	switch kind {
	case FormatNpy:
		return openNpy(path, cfg)
	case FormatNpz, FormatPyTorchZip:
		return openZip(path, cfg)
	case FormatPyTorchLegacy:
		return openPyTorchLegacy(path, cfg)
	case FormatSafetensors, FormatSafetensorsIndex:
		return openSafetensors(path, cfg)
	case FormatRaw:
		return openRaw(path, size, cfg)
	case FormatPyTorchIndex:
		return openTorchIndex(path, cfg)
	case FormatGGUF:
		return openGGUF(path, cfg)
	}
	return nil, unrecognised(path)
}

// unrecognised explains why a file could not be opened, by its extension.
func unrecognised(path string) error {
	head := make([]byte, 8)
	if f, err := fileio.Open(path); err == nil {
		n, _ := io.ReadFull(f, head)
		head = head[:n]
		f.Close()
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".pt", ".pth", ".ckpt":
		return fmt.Errorf("%s: not a PyTorch checkpoint: neither a zip archive nor a legacy torch.save pickle (file starts with %q)", path, head)
	case ".npy":
		return fmt.Errorf("%s: not a .npy file: no \\x93NUMPY magic (file starts with %q)", path, head)
	case ".npz":
		return fmt.Errorf("%s: not an .npz file: not a zip archive (file starts with %q)", path, head)
	}
	return fmt.Errorf("%s: not a recognised tensor file (safetensors, .npy, .npz, PyTorch .pt, raw .bin with --dtype/--shape or a sidecar .json)", path)
}

// List returns the header-level listing of path for `refcmp weights`,
// reading no tensor data: a safetensors file, index or directory; the
// headers of .npy, .npz and PyTorch files; a directory of those; or
// otherwise a loaded-weights manifest (text or JSON).
func List(path string) (l tensor.Listing, err error) {
	defer func() {
		if r := recover(); r != nil {
			l, err = tensor.Listing{}, &InternalError{Path: path, Panic: r}
		}
	}()
	fi, err := os.Stat(path)
	if err != nil {
		return tensor.Listing{}, err
	}
	if fi.IsDir() {
		return listDir(path)
	}
	if err := fileio.Regular(path, fi); err != nil {
		return tensor.Listing{}, err
	}
	kind, err := sniffFile(path, fi.Size())
	if err != nil {
		return tensor.Listing{}, err
	}
	switch kind {
	case FormatSafetensors, FormatSafetensorsIndex:
		return listSafetensors(path)
	case FormatGGUF:
		return listGGUF(path)
	case FormatNpy, FormatNpz, FormatPyTorchZip, FormatPyTorchLegacy, FormatPyTorchIndex:
		c, err := openKind(path, kind, fi.Size(), config{headerOnly: true})
		if err != nil {
			return tensor.Listing{}, err
		}
		defer c.Close()
		return c.listing(), nil
	case FormatRaw:
		if _, ok, _ := findSidecar(path); ok {
			c, err := openRaw(path, fi.Size(), config{headerOnly: true})
			if err != nil {
				return tensor.Listing{}, err
			}
			defer c.Close()
			return c.listing(), nil
		}
		if !looksLikeManifestFile(path) {
			return tensor.Listing{}, fmt.Errorf("%s: a raw tensor file has no header to list; describe it with a sidecar %s", path, strings.TrimSuffix(path, filepath.Ext(path))+".json")
		}
	case "":
		if dumpExt(path) {
			return tensor.Listing{}, unrecognised(path)
		}
	}
	if l, ok, err := listLlamaLog(path); ok || err != nil {
		return l, err
	}
	return ReadManifest(path)
}

// openWith opens path and hands the file and its size to read. The
// container read returns keeps the file open until it is closed; when
// read fails, the file is closed.
func openWith(path string, read func(f *os.File, size int64) (*Container, error)) (*Container, error) {
	f, err := fileio.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	c, err := read(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	c.closers = append(c.closers, f)
	return c, nil
}

// looksLikeManifestFile reports whether path starts like a manifest.
func looksLikeManifestFile(path string) bool {
	f, err := fileio.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	return LooksLikeManifest(head[:n])
}

// listing turns an opened container into a header-level listing.
func (c *Container) listing() tensor.Listing {
	l := tensor.Listing{Source: c.Source, Notes: append([]string(nil), c.Notes...)}
	for _, t := range c.Tensors {
		var shape []int64
		if t.Shape != nil { // nil: unknown (an index without its shards)
			shape = append([]int64{}, t.Shape...)
		}
		l.Weights = append(l.Weights, tensor.Info{Name: t.Name, DType: t.DType, Shape: shape})
	}
	return l
}

const sniffLen = 64

// sniffFile reads the first bytes of path and names its format, or
// FormatRaw when it is not recognised but may be raw data, or "" when it
// is none of these (a manifest, or garbage).
func sniffFile(path string, size int64) (string, error) {
	f, err := fileio.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	head = head[:n]
	switch {
	case isZip(head):
		return zipKind(path, f, size)
	case isNpy(head):
		return FormatNpy, nil
	case isLegacyTorch(head):
		return FormatPyTorchLegacy, nil
	case safetensors.IsSafetensors(head, size):
		return FormatSafetensors, nil
	case isGGUF(head):
		return FormatGGUF, nil
	}
	if k := indexKind(path, f, size); k != "" {
		return k, nil
	}
	switch {
	case strings.HasSuffix(path, ".safetensors"):
		return FormatSafetensors, nil // not valid: package safetensors says why
	case strings.HasSuffix(path, ".safetensors.index.json"):
		return FormatSafetensorsIndex, nil
	}
	if looksRaw(path) {
		return FormatRaw, nil
	}
	return "", nil
}

// looksRaw reports whether an unrecognised file may be read as raw data:
// it has a raw-data extension, or a sidecar and neither a text extension
// nor text that reads as a manifest (loaded.txt beside loaded.json is two
// manifests, not a raw tensor and its sidecar).
func looksRaw(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".bin", ".raw", ".dat", ".f32", ".f16", ".bf16", ".f64":
		return true
	case ".txt", ".json", ".csv", ".tsv", ".md", ".log", ".yaml", ".yml", ".toml":
		return false
	}
	_, ok, _ := findSidecar(path)
	return ok && !looksLikeManifestFile(path)
}

func isZip(head []byte) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
}
