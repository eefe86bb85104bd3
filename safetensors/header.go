package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	nlpst "github.com/nlpodyssey/safetensors"
	"github.com/refcmp/refcmp/tensor"
	"golang.org/x/sys/unix"

	"github.com/refcmp/refcmp/internal/fileio"
)

// MaxHeaderLen is the largest header length the format allows
// (MAX_HEADER_SIZE in the reference reader).
const MaxHeaderLen = 100_000_000

// Tensor is one header entry.
type Tensor struct {
	Name  string
	DType tensor.DType // Unknown when not known (an index whose shard files are absent)
	// Shape is []int64{} for a scalar, never nil for a header entry;
	// nil means unknown (an index whose shard files are absent).
	Shape      []int64
	Begin, End int64 // absolute byte offsets of the tensor's data in the file
}

// Numel is the element count: the product of Shape, 1 for a scalar,
// 0 for an empty tensor or an unknown shape.
func (t Tensor) Numel() int64 {
	n, _ := tensor.Numel(t.Shape)
	return n
}

// Bytes is the size of the tensor's data, End-Begin (Numel * DType.Size()).
func (t Tensor) Bytes() int64 { return t.End - t.Begin }

// File is one safetensors file's header.
type File struct {
	Path      string
	Size      int64
	HeaderLen int64             // N, the JSON header length
	Metadata  map[string]string // __metadata__ (nil when absent)
	Tensors   []Tensor          // in data-offset order (ties, i.e. empty tensors, by name)
}

// IsSafetensors reports whether a file of the given size starting with
// head looks like safetensors: an 8-byte little-endian header length that
// fits the file and the limit, then '{'. head must hold at least 9 bytes.
func IsSafetensors(head []byte, size int64) bool {
	if len(head) < 9 {
		return false
	}
	n := binary.LittleEndian.Uint64(head)
	return n >= 2 && n <= MaxHeaderLen && int64(n)+8 <= size && head[8] == '{'
}

// ReadHeader reads and validates the header of the safetensors file at
// path. It never reads tensor data: only the first 8+N bytes are read,
// with pread (a file truncated meanwhile is an error naming it, never a
// SIGBUS).
//
// Parsing and validation are github.com/nlpodyssey/safetensors's, with one
// gap covered: that library does not know F8_E4M3 and F8_E5M2, so it is
// shown a copy of the header where those dtypes
// read U8 (same element size), and the true dtypes are kept here.
// Errors name the file and, where there is one, the tensor.
func ReadHeader(path string) (*File, error) {
	f, err := fileio.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readHeader(f, path)
}

// readHeader is ReadHeader on an open file; path names it in errors.
func readHeader(f *os.File, path string) (*File, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := fi.Size()
	if size < 8 {
		return nil, fmt.Errorf("%s: file is %d bytes, too short for a safetensors header", path, size)
	}
	var lenBuf [8]byte
	if _, err := f.ReadAt(lenBuf[:], 0); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if lenBuf[0] == '{' || lenBuf[0] == '[' {
		return nil, fmt.Errorf("%s: a JSON file, not a safetensors file (it starts with %q; a shard of an index must be a .safetensors file, not another index)", path, lenBuf[:])
	}
	if n > MaxHeaderLen {
		return nil, fmt.Errorf("%s: header length %d is over the format's limit of %d bytes", path, n, MaxHeaderLen)
	}
	if 8+int64(n) > size {
		return nil, fmt.Errorf("%s: header length %d runs past the end of the file (%d bytes)", path, n, size)
	}
	// The header is read with pread, never through a mapping of the file:
	// a file truncated while it is read is then an error, not a SIGBUS.
	// The library wants a buffer as long as the file but reads only its
	// header, so it gets an anonymous mapping of the file's size that is
	// inaccessible (and takes no memory) past the header.
	m, err := unix.Mmap(-1, 0, int(size), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	defer unix.Munmap(m)
	if err := unix.Mprotect(m[:8+n], unix.PROT_READ|unix.PROT_WRITE); err != nil {
		return nil, fmt.Errorf("%s: mprotect: %w", path, err)
	}
	if got, err := f.ReadAt(m[:8+n], 0); got < 8+int(n) {
		if err == nil || err == io.EOF {
			err = fmt.Errorf("the file ends at byte %d, inside its %d-byte header: it changed while refcmp read it", got, n)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	file, err := parse(m, int64(n))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	file.Path = path
	return file, nil
}

// libHeaderLimit is the largest header given to the library: its
// decoding into map[string]any costs about 10 µs a tensor (10 s for a
// 100 MB header of a million tensors, TestLibraryHeaderCost), while scan
// and check, which validate the same rules and more, cost a fraction of
// that. Larger headers (no real checkpoint's is near: a 405B-parameter
// shard's is ~100 KB) are read from scan's entries alone.
const libHeaderLimit = 4 << 20

// parse reads the header at the start of m, whose length is the file's
// and whose header length is n; m[:8+n] is writable.
func parse(m []byte, n int64) (*File, error) {
	return parseWith(m, n, n <= libHeaderLimit)
}

// parseWith is parse, through the library or not. Headers with an empty
// tensor whose other dimensions overflow a product ([2^62, 2^62, 0],
// numel 0, as tensor.Numel counts it) never go to the library, which
// rejects them.
func parseWith(m []byte, n int64, useLib bool) (*File, error) {
	hd, err := scan(m[8 : 8+n])
	if err != nil {
		return nil, err
	}
	if !useLib || hd.hugeEmpty {
		if err := check(hd, int64(len(m))-8-n); err != nil {
			return nil, err
		}
		return fromEntries(hd, int64(len(m)), n)
	}
	// Cover the library's dtype gap: rewrite F8 dtypes as "U8" plus
	// spaces, in place and the same length, so every offset stays valid.
	f8 := map[string]tensor.DType{}
	for _, e := range hd.entries {
		if e.dtype == "F8_E4M3" || e.dtype == "F8_E5M2" {
			f8[e.name], _ = tensor.ParseDType(e.dtype)
			tok := m[8+e.dtypeAt[0] : 8+e.dtypeAt[1]]
			copy(tok, `"U8"`)
			for i := 4; i < len(tok); i++ {
				tok[i] = ' '
			}
		}
	}
	_, md, err := nlpst.ReadMetadata(m)
	if err != nil {
		// The library's messages name no tensor; find the first problem
		// ourselves and say exactly what it is.
		if cerr := check(hd, int64(len(m))-8-n); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("invalid header: %w", err)
	}
	f := &File{Size: int64(len(m)), HeaderLen: n}
	if hd.meta {
		f.Metadata = md.Metadata()
	}
	for name, info := range md.Tensors() { // order fixed by the sort below
		t := Tensor{
			Name:  name,
			DType: libDTypes[info.DType],
			Shape: make([]int64, len(info.Shape)),
			Begin: 8 + n + int64(info.DataOffsets[0]),
			End:   8 + n + int64(info.DataOffsets[1]),
		}
		if d, ok := f8[name]; ok {
			t.DType = d
		}
		for i, d := range info.Shape {
			if d > math.MaxInt64 {
				return nil, fmt.Errorf("tensor %q: dimension %d is too large", name, d)
			}
			t.Shape[i] = int64(d)
		}
		f.Tensors = append(f.Tensors, t)
	}
	sortTensors(f.Tensors)
	return f, nil
}

// fromEntries builds the File from scan's entries, which check passed.
func fromEntries(hd header, size, n int64) (*File, error) {
	f := &File{Size: size, HeaderLen: n}
	if len(hd.entries) > 0 {
		f.Tensors = make([]Tensor, 0, len(hd.entries))
	}
	if hd.meta {
		f.Metadata = hd.metadata
	}
	for _, e := range hd.entries {
		d, _ := tensor.ParseDType(e.dtype) // check accepted it
		t := Tensor{
			Name:  e.name,
			DType: d,
			Shape: make([]int64, len(e.shape)),
			Begin: 8 + n + int64(e.offsets[0]),
			End:   8 + n + int64(e.offsets[1]),
		}
		for i, x := range e.shape {
			t.Shape[i] = int64(x) // check bounds every dimension by MaxInt64
		}
		f.Tensors = append(f.Tensors, t)
	}
	sortTensors(f.Tensors)
	return f, nil
}

// sortTensors puts tensors in data-offset order, ties (empty tensors) by
// name.
func sortTensors(ts []Tensor) {
	slices.SortFunc(ts, func(a, b Tensor) int {
		if a.Begin != b.Begin {
			return cmp.Compare(a.Begin, b.Begin)
		}
		if a.End != b.End {
			return cmp.Compare(a.End, b.End)
		}
		return strings.Compare(a.Name, b.Name)
	})
}

var libDTypes = [...]tensor.DType{
	nlpst.BOOL: tensor.Bool, nlpst.U8: tensor.U8, nlpst.I8: tensor.I8, nlpst.I16: tensor.I16, nlpst.U16: tensor.U16,
	nlpst.F16: tensor.F16, nlpst.BF16: tensor.BF16, nlpst.I32: tensor.I32, nlpst.U32: tensor.U32, nlpst.F32: tensor.F32,
	nlpst.F64: tensor.F64, nlpst.I64: tensor.I64, nlpst.U64: tensor.U64,
}

// header is our own structural reading of a header: what the library does
// not give (the dtype's position in the bytes, duplicate keys) and what a
// precise error message needs.
type header struct {
	entries   []entry // in header order
	meta      bool    // __metadata__ is an object
	metadata  map[string]string
	hugeEmpty bool // an empty tensor's other dimensions overflow a product
}

type entry struct {
	name    string
	dtype   string   // as written
	dtypeAt [2]int64 // the dtype's JSON string token, as header offsets
	shape   []uint64
	offsets []uint64 // data_offsets
}

// scan checks the header's structure: UTF-8 JSON, an object of tensor
// entries with exactly dtype, shape and data_offsets of the right JSON
// types, string-valued __metadata__, no duplicate keys.
func scan(h []byte) (header, error) {
	var hd header
	if !utf8.Valid(h) {
		return hd, errors.New("header is not valid UTF-8")
	}
	err := members(h, func(name string, val []byte, at int64) error {
		if name == "__metadata__" {
			if string(val) == "null" {
				return nil
			}
			hd.meta = true
			hd.metadata = map[string]string{}
			err := members(val, func(key string, v []byte, _ int64) error {
				var str string
				if v[0] != '"' || json.Unmarshal(v, &str) != nil {
					return fmt.Errorf("%q is %s, not a string", key, short(v))
				}
				hd.metadata[key] = str
				return nil
			})
			if err != nil {
				return fmt.Errorf("__metadata__: %w", err)
			}
			return nil
		}
		e := entry{name: name}
		err := members(val, func(key string, v []byte, vat int64) error {
			switch key {
			case "dtype":
				e.dtypeAt = [2]int64{at + vat, at + vat + int64(len(v))}
				if len(v) >= 2 && v[0] == '"' && bytes.IndexByte(v, '\\') < 0 {
					e.dtype = string(v[1 : len(v)-1])
				} else if json.Unmarshal(v, &e.dtype) != nil {
					return fmt.Errorf("dtype %s is not a string", short(v))
				}
			case "shape":
				if e.shape = uints(v); e.shape == nil && (json.Unmarshal(v, &e.shape) != nil || e.shape == nil) {
					return fmt.Errorf("shape %s is not a list of non-negative integers", short(v))
				}
			case "data_offsets":
				if e.offsets = uints(v); (e.offsets == nil && json.Unmarshal(v, &e.offsets) != nil) || len(e.offsets) != 2 {
					return fmt.Errorf("data_offsets %s is not a pair of non-negative integers", short(v))
				}
			default:
				return fmt.Errorf("unexpected key %q", key)
			}
			return nil
		})
		switch {
		case err != nil:
		case e.dtypeAt[1] == 0:
			err = errors.New("no dtype")
		case e.shape == nil:
			err = errors.New("no shape")
		case e.offsets == nil:
			err = errors.New("no data_offsets")
		}
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		hd.hugeEmpty = hd.hugeEmpty || emptyOverflow(e.shape)
		hd.entries = append(hd.entries, e)
		return nil
	})
	if err != nil {
		return hd, fmt.Errorf("header: %w", err)
	}
	return hd, nil
}

// members calls fn for each member of the JSON object obj in order, with
// the member's raw value and the value's offset in obj. It rejects
// anything but one object, and duplicate keys.
func members(obj []byte, fn func(key string, val []byte, at int64) error) error {
	if err, ok := fastMembers(obj, fn); ok {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(err)
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("%s is not a JSON object", short(obj))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("bad JSON: %v is not a key", tok)
		}
		if seen[key] {
			return fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return jsonErr(err)
		}
		if err := fn(key, val, dec.InputOffset()-int64(len(val))); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("bad JSON: data after the object")
	}
	return nil
}

// uints reads a JSON list of plain decimal non-negative integers, or
// returns nil for anything else (json.Unmarshal then decides).
func uints(v []byte) []uint64 {
	if len(v) < 2 || v[0] != '[' || v[len(v)-1] != ']' {
		return nil
	}
	out := []uint64{}
	i := skipSpace(v, 1)
	for i < len(v)-1 {
		j := i
		var n uint64
		for ; j < len(v) && v[j] >= '0' && v[j] <= '9'; j++ {
			d := uint64(v[j] - '0')
			if n > (math.MaxUint64-d)/10 {
				return nil
			}
			n = n*10 + d
		}
		if j == i || (v[i] == '0' && j > i+1) {
			return nil
		}
		out = append(out, n)
		i = skipSpace(v, j)
		if v[i] == ',' {
			if i = skipSpace(v, i+1); i == len(v)-1 {
				return nil // a trailing comma
			}
		} else if i != len(v)-1 {
			return nil
		}
	}
	return out
}

// fastMembers is members for an object that is valid JSON and whose keys
// have no escapes, without json.Decoder's per-token allocations (a header
// of a million tensors took most of its time there). It reports false,
// before calling fn, for anything else: members then does the work.
func fastMembers(obj []byte, fn func(key string, val []byte, at int64) error) (error, bool) {
	if !json.Valid(obj) {
		return nil, false
	}
	type member struct {
		key      string
		from, to int
	}
	var ms []member
	i := skipSpace(obj, 0)
	if obj[i] != '{' {
		return nil, false
	}
	i = skipSpace(obj, i+1)
	for obj[i] != '}' {
		end := bytes.IndexByte(obj[i+1:], '"') + i + 1
		key := obj[i+1 : end]
		if bytes.IndexByte(key, '\\') >= 0 {
			return nil, false
		}
		i = skipSpace(obj, end+1) // at ':'
		from := skipSpace(obj, i+1)
		to := skipValue(obj, from)
		ms = append(ms, member{string(key), from, to})
		i = skipSpace(obj, to)
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if seen[m.key] {
			return fmt.Errorf("duplicate key %q", m.key), true
		}
		seen[m.key] = true
		if err := fn(m.key, obj[m.from:m.to], int64(m.from)); err != nil {
			return err, true
		}
	}
	return nil, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the valid JSON value that starts at i.
func skipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

func jsonErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("bad JSON: unexpected end")
	}
	return fmt.Errorf("bad JSON: %w", err)
}

// emptyOverflow reports whether shape has a zero dimension while its
// other dimensions' product overflows uint64 (the library rejects those).
func emptyOverflow(shape []uint64) bool {
	if !slices.Contains(shape, 0) {
		return false
	}
	p := uint64(1)
	for _, x := range shape {
		if x == 0 {
			continue
		}
		if p > math.MaxUint64/x {
			return true
		}
		p *= x
	}
	return false
}

// short quotes a JSON value for a message, cut to a readable length.
func short(v []byte) string {
	if len(v) > 40 {
		return string(v[:37]) + "..."
	}
	return string(v)
}

// check finds the first semantic problem in a structurally sound header
// whose data region holds dataLen bytes: an unknown dtype, a shape whose
// size differs from its byte span, overlapping offsets or holes, and data
// that does not end where the file does. It returns nil if it finds none.
func check(hd header, dataLen int64) error {
	type span struct {
		name string
		b, e uint64
	}
	var spans []span
	for _, e := range hd.entries {
		d, err := tensor.ParseDType(e.dtype)
		if err != nil || d.String() != e.dtype {
			return fmt.Errorf("tensor %q: unknown dtype %q", e.name, e.dtype)
		}
		b, end := e.offsets[0], e.offsets[1]
		if end < b {
			return fmt.Errorf("tensor %q: data_offsets [%d %d] end before they begin", e.name, b, end)
		}
		// tensor.Numel's rule: a zero dimension makes the tensor empty
		// whatever the others are; otherwise the byte count must fit int64.
		shape := make([]int64, len(e.shape))
		for i, x := range e.shape {
			if x > math.MaxInt64 {
				return fmt.Errorf("tensor %q: dimension %d is too large", e.name, x)
			}
			shape[i] = int64(x)
		}
		numel, ok := tensor.Numel(shape)
		if !ok || numel > math.MaxInt64/int64(d.Size()) {
			return fmt.Errorf("tensor %q: shape %v %s is too large", e.name, e.shape, d)
		}
		need := uint64(numel) * uint64(d.Size())
		if need != end-b {
			return fmt.Errorf("tensor %q: shape %v %s needs %d bytes, data_offsets span %d", e.name, e.shape, d, need, end-b)
		}
		spans = append(spans, span{e.name, b, end})
	}
	slices.SortFunc(spans, func(x, y span) int {
		if x.b != y.b {
			return cmp.Compare(x.b, y.b)
		}
		if x.e != y.e {
			return cmp.Compare(x.e, y.e)
		}
		return strings.Compare(x.name, y.name)
	})
	var at uint64
	prev := ""
	for i, s := range spans {
		switch {
		case s.b > at && i == 0:
			return fmt.Errorf("tensor %q: data_offsets [%d %d] leave a hole: the data region begins with %d unused bytes", s.name, s.b, s.e, s.b)
		case s.b > at:
			return fmt.Errorf("tensor %q: data_offsets [%d %d] leave a hole of %d bytes after tensor %q, which ends at %d", s.name, s.b, s.e, s.b-at, prev, at)
		case s.b < at:
			return fmt.Errorf("tensor %q: data_offsets [%d %d] overlap tensor %q, which ends at %d", s.name, s.b, s.e, prev, at)
		}
		at, prev = s.e, s.name
	}
	switch {
	case at > uint64(dataLen):
		return fmt.Errorf("tensor %q: data_offsets end at %d, past the end of the file's %d data bytes (truncated file?)", prev, at, dataLen)
	case at < uint64(dataLen) && prev == "":
		return fmt.Errorf("the header lists no tensors, but %d data bytes follow it", dataLen)
	case at < uint64(dataLen):
		return fmt.Errorf("the last tensor, %q, ends at data offset %d, but %d data bytes follow the header (%d trailing bytes)", prev, at, dataLen, uint64(dataLen)-at)
	}
	return nil
}
