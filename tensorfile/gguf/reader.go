package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment applies when general.alignment is absent (gguf.h
// GGUF_DEFAULT_ALIGNMENT).
const DefaultAlignment = 32

// AlignmentKey is the metadata key that sets the data alignment.
const AlignmentKey = "general.alignment"

// ErrFormat is wrapped by every error about a malformed file, so callers
// can tell bad input (exit 2) from I/O trouble with errors.Is.
var ErrFormat = errors.New("malformed GGUF")

// Error is a malformed-file error with its place: the file, the byte
// offset where reading failed, and the key or tensor being read.
type Error struct {
	File   string
	Offset int64
	Key    string // metadata key being read, if any
	Tensor string // tensor being read, if any (or "#N" before its name)
	Msg    string
}

func (e *Error) Error() string {
	s := e.File + ": "
	if e.Tensor != "" {
		s += fmt.Sprintf("tensor %q: ", e.Tensor)
	} else if e.Key != "" {
		s += fmt.Sprintf("key %q: ", e.Key)
	}
	return s + e.Msg + fmt.Sprintf(" (at byte %d)", e.Offset)
}

// Is makes errors.Is(err, ErrFormat) true.
func (e *Error) Is(target error) bool { return target == ErrFormat }

// Budget bounds what a header may make the reader allocate. Besides these,
// every length is checked against the bytes left in the file before
// anything is allocated.
type Budget struct {
	MaxHeader  int64 // bytes of header (KVs and tensor infos) read at most
	MaxString  int64 // bytes in one string (key, value, name)
	MaxArray   int64 // elements in one array
	MaxValues  int64 // array elements in all KVs together
	MaxKV      int64 // metadata key-value pairs
	MaxTensors int64 // tensor infos
	MaxDims    int   // dimensions of one tensor (ggml's GGML_MAX_DIMS is 4)
	MaxDepth   int   // nesting of arrays inside arrays
}

// DefaultBudget fits every real GGUF file seen (the largest headers are
// tokenizer vocabularies of a few MiB) with room to spare.
func DefaultBudget() Budget {
	return Budget{
		MaxHeader:  512 << 20,
		MaxString:  1 << 30,
		MaxArray:   1 << 28,
		MaxValues:  1 << 28,
		MaxKV:      1 << 20,
		MaxTensors: 1 << 20,
		MaxDims:    4,
		MaxDepth:   4,
	}
}

// File is the header of a GGUF file: metadata, tensor infos and where the
// tensor data starts. It holds no tensor data.
type File struct {
	Name       string // the file name used in errors
	Size       int64  // file size in bytes
	Version    uint32 // 2 or 3
	BigEndian  bool   // detected from the version field
	KV         []KV   // metadata in file order
	Tensors    []TensorInfo
	Alignment  int64 // general.alignment or DefaultAlignment
	DataOffset int64 // absolute offset of the tensor data section
	// DataMissing is true when the file ends before the end of the last
	// tensor's data: the file is read header-only. Vocab-only files have
	// no tensors, DataMissing false and DataOffset at the end of the
	// header, as gguf.cpp reports it.
	DataMissing bool
	// Notes are facts about the file that are not errors, as data
	// (unknown tensor types, an alignment of a type other than u32).
	Notes []string
}

// ByteOrder is the byte order of every number in the file.
func (f *File) ByteOrder() binary.ByteOrder {
	if f.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Lookup returns the value of a metadata key.
func (f *File) Lookup(key string) (Value, bool) {
	for _, kv := range f.KV {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return Value{}, false
}

// Tensor returns the info of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// TensorInfo describes one tensor. Dims is in GGUF order, innermost
// (fastest-varying) dimension first, as ggml's ne[]; Shape gives PyTorch
// order.
type TensorInfo struct {
	Name   string
	Dims   []int64
	Type   Type
	Offset int64 // relative to File.DataOffset
	// Elements is the product of Dims (1 for n_dims 0).
	Elements int64
	// Bytes is the data size, or -1 when Type is unknown.
	Bytes int64
}

// Shape is the tensor's shape in PyTorch (row-major, outermost first)
// order: Dims reversed. A GGUF [64 512] token_embd is torch [512 64].
func (t TensorInfo) Shape() []int64 {
	s := make([]int64, len(t.Dims))
	for i, d := range t.Dims {
		s[len(s)-1-i] = d
	}
	return s
}

// Open reads the header of the GGUF file at path with DefaultBudget.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	return Read(fh, fi.Size(), path, DefaultBudget())
}

// Read reads a GGUF header from r, a file of size bytes called name (for
// errors), within budget b.
func Read(r io.ReaderAt, size int64, name string, b Budget) (*File, error) {
	rd := &reader{r: r, size: size, name: name, order: binary.LittleEndian, b: b}
	f, err := rd.file()
	if err != nil {
		return nil, err
	}
	return f, nil
}

type reader struct {
	r     io.ReaderAt
	size  int64
	name  string
	order binary.ByteOrder
	b     Budget

	pos      int64
	buf      []byte
	bufStart int64
	values   int64 // array elements so far, against b.MaxValues

	key    string // for errors
	tensor string
}

func (rd *reader) errf(format string, args ...any) error {
	return &Error{File: rd.name, Offset: rd.pos, Key: rd.key, Tensor: rd.tensor, Msg: fmt.Sprintf(format, args...)}
}

// bytes returns the next n bytes; the slice is valid until the next call.
func (rd *reader) bytes(n int64) ([]byte, error) {
	if n < 0 || n > rd.size-rd.pos {
		return nil, rd.errf("needs %d bytes, file has %d left", n, rd.size-rd.pos)
	}
	if rd.pos+n > rd.b.MaxHeader {
		return nil, rd.errf("header exceeds the budget of %d bytes", rd.b.MaxHeader)
	}
	end := rd.pos + n
	if rd.pos < rd.bufStart || end > rd.bufStart+int64(len(rd.buf)) {
		want := n
		if want < 64<<10 {
			want = 64 << 10
		}
		if want > rd.size-rd.pos {
			want = rd.size - rd.pos
		}
		if int64(cap(rd.buf)) < want {
			rd.buf = make([]byte, want)
		}
		rd.buf = rd.buf[:want]
		m, err := rd.r.ReadAt(rd.buf, rd.pos)
		if int64(m) < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("%s: reading at byte %d: %w", rd.name, rd.pos, err)
		}
		rd.buf = rd.buf[:m]
		rd.bufStart = rd.pos
	}
	p := rd.buf[rd.pos-rd.bufStart : end-rd.bufStart]
	rd.pos = end
	return p, nil
}

func (rd *reader) u8() (uint8, error) {
	p, err := rd.bytes(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (rd *reader) u16() (uint16, error) {
	p, err := rd.bytes(2)
	if err != nil {
		return 0, err
	}
	return rd.order.Uint16(p), nil
}

func (rd *reader) u32() (uint32, error) {
	p, err := rd.bytes(4)
	if err != nil {
		return 0, err
	}
	return rd.order.Uint32(p), nil
}

func (rd *reader) u64() (uint64, error) {
	p, err := rd.bytes(8)
	if err != nil {
		return 0, err
	}
	return rd.order.Uint64(p), nil
}

// count reads a u64 count and checks it against max and against the bytes
// left, given each item takes at least minBytes.
func (rd *reader) count(what string, max int64, minBytes int64) (int64, error) {
	at := rd.pos
	n, err := rd.u64()
	if err != nil {
		return 0, err
	}
	if n > uint64(max) {
		rd.pos = at
		return 0, rd.errf("%s %d exceeds the budget of %d", what, n, max)
	}
	if left := rd.size - rd.pos; minBytes > 0 && int64(n) > left/minBytes {
		rd.pos = at
		return 0, rd.errf("%s %d cannot fit in the %d bytes left", what, n, left)
	}
	return int64(n), nil
}

func (rd *reader) str() (string, error) {
	n, err := rd.count("string length", rd.b.MaxString, 1)
	if err != nil {
		return "", err
	}
	p, err := rd.bytes(n)
	if err != nil {
		return "", err
	}
	return string(p), nil // byte-exact: no trimming, no UTF-8 repair
}

func (rd *reader) file() (*File, error) {
	magic, err := rd.bytes(4)
	if err != nil {
		return nil, err
	}
	if string(magic) != Magic {
		rd.pos = 0
		return nil, rd.errf("not a GGUF file (magic %q)", magic)
	}
	v, err := rd.u32()
	if err != nil {
		return nil, err
	}
	f := &File{Name: rd.name, Size: rd.size, Version: v, Alignment: DefaultAlignment}
	// A big-endian writer (gguf-py with --bigendian) stores the version,
	// like every number, big-endian: 3 reads as 0x03000000 here.
	if v&0xFFFF == 0 && v != 0 {
		f.BigEndian = true
		rd.order = binary.BigEndian
		f.Version = bits.ReverseBytes32(v)
	}
	switch f.Version {
	case 2, 3:
	case 1:
		return nil, rd.errf("GGUF version 1 is not supported (llama.cpp dropped it too)")
	default:
		return nil, rd.errf("unknown GGUF version %d", f.Version)
	}
	nTensors, err := rd.count("tensor count", rd.b.MaxTensors, 8+4+4+8)
	if err != nil {
		return nil, err
	}
	nKV, err := rd.count("key-value count", rd.b.MaxKV, 8+4+1)
	if err != nil {
		return nil, err
	}
	f.KV = make([]KV, 0, nKV)
	seen := make(map[string]bool, nKV)
	for i := int64(0); i < nKV; i++ {
		rd.key = ""
		k, err := rd.str()
		if err != nil {
			return nil, err
		}
		rd.key = k
		if seen[k] {
			return nil, rd.errf("duplicate key")
		}
		seen[k] = true
		vt, err := rd.u32()
		if err != nil {
			return nil, err
		}
		val, err := rd.value(ValueType(vt), 0)
		if err != nil {
			return nil, err
		}
		f.KV = append(f.KV, KV{Key: k, Value: val})
	}
	rd.key = ""
	if err := rd.alignment(f); err != nil {
		return nil, err
	}
	f.Tensors = make([]TensorInfo, 0, nTensors)
	names := make(map[string]bool, nTensors)
	for i := int64(0); i < nTensors; i++ {
		rd.tensor = fmt.Sprintf("#%d", i)
		t, err := rd.tensorInfo(f)
		if err != nil {
			return nil, err
		}
		if names[t.Name] {
			return nil, rd.errf("duplicate tensor name")
		}
		names[t.Name] = true
		f.Tensors = append(f.Tensors, t)
	}
	rd.tensor = ""
	// gguf.cpp pads to the alignment only when there are tensors: for a
	// vocab-only file the data offset is the end of the header (checked
	// against the pinned build's gguf_get_data_offset).
	f.DataOffset = rd.pos
	if len(f.Tensors) > 0 {
		f.DataOffset = alignUp(rd.pos, f.Alignment)
	}
	var end int64
	for _, t := range f.Tensors {
		if t.Bytes >= 0 && t.Offset+t.Bytes > end {
			end = t.Offset + t.Bytes
		} else if t.Bytes < 0 && t.Offset > end {
			end = t.Offset
		}
	}
	if len(f.Tensors) > 0 && f.DataOffset+end > rd.size {
		f.DataMissing = true
		f.Notes = append(f.Notes, fmt.Sprintf("tensor data is cut off: the file ends at %d, the data needs %d; read header-only", rd.size, f.DataOffset+end))
	}
	return f, nil
}

func alignUp(x, a int64) int64 {
	return (x + a - 1) / a * a
}

func (rd *reader) alignment(f *File) error {
	v, ok := f.Lookup(AlignmentKey)
	if !ok {
		return nil
	}
	rd.key = AlignmentKey
	defer func() { rd.key = "" }()
	a, isInt := v.AsInt()
	if !isInt {
		return rd.errf("alignment has type %s, want an integer", v.Type)
	}
	if a <= 0 || a > 1<<30 || a&(a-1) != 0 {
		return rd.errf("alignment %d is not a power of two", a)
	}
	if v.Type != TypeUint32 {
		f.Notes = append(f.Notes, fmt.Sprintf("%s is %s, the spec says uint32; used %d", AlignmentKey, v.Type, a))
	}
	f.Alignment = a
	return nil
}

func (rd *reader) tensorInfo(f *File) (TensorInfo, error) {
	var t TensorInfo
	name, err := rd.str()
	if err != nil {
		return t, err
	}
	t.Name = name
	rd.tensor = name
	nd, err := rd.u32()
	if err != nil {
		return t, err
	}
	if int64(nd) > int64(rd.b.MaxDims) {
		return t, rd.errf("%d dimensions exceed the budget of %d", nd, rd.b.MaxDims)
	}
	t.Dims = make([]int64, nd)
	t.Elements = 1
	for d := range t.Dims {
		x, err := rd.u64()
		if err != nil {
			return t, err
		}
		if x > math.MaxInt64 {
			return t, rd.errf("dimension %d is negative (%d)", d, int64(x))
		}
		t.Dims[d] = int64(x)
		hi, lo := bits.Mul64(uint64(t.Elements), x)
		if hi != 0 || lo > math.MaxInt64 {
			return t, rd.errf("element count overflows")
		}
		t.Elements = int64(lo)
	}
	ty, err := rd.u32()
	if err != nil {
		return t, err
	}
	t.Type = Type(ty)
	off, err := rd.u64()
	if err != nil {
		return t, err
	}
	if off > math.MaxInt64 || int64(off)%f.Alignment != 0 {
		return t, rd.errf("data offset %d is not a multiple of the alignment %d", off, f.Alignment)
	}
	t.Offset = int64(off)
	t.Bytes = -1
	if tr, ok := typeTraits(t.Type); ok {
		if len(t.Dims) > 0 && t.Dims[0]%int64(tr.block) != 0 {
			return t, rd.errf("innermost dimension %d is not a multiple of the %s block size %d", t.Dims[0], t.Type, tr.block)
		}
		hi, lo := bits.Mul64(uint64(t.Elements/int64(tr.block)), uint64(tr.bytes))
		if hi != 0 || lo > math.MaxInt64-uint64(t.Offset) {
			return t, rd.errf("data size overflows")
		}
		t.Bytes = int64(lo)
	} else {
		f.Notes = append(f.Notes, fmt.Sprintf("tensor %q has ggml type %d, unknown to refcmp: listed, not decoded", t.Name, ty))
	}
	return t, nil
}
