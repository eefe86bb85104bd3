package tensorfile

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/safetensors"
)

// isNpy reports whether head starts with the .npy magic "\x93NUMPY".
func isNpy(head []byte) bool {
	return len(head) >= len(npy.Magic) && [6]byte(head[:6]) == npy.Magic
}

// maxNpyHeader bounds the header dictionary we are willing to read.
// numpy itself refuses headers over 10000 bytes by default.
const maxNpyHeader = 1 << 20

// npyHeader is what a .npy header says about its array.
type npyHeader struct {
	Descr     string // as written, e.g. "<f4"
	DType     safetensors.DType
	BigEndian bool
	Fortran   bool
	Shape     []int64
	DataStart int64 // offset of the first data byte
}

// readNpyHeader reads and checks a .npy header from r, which holds size
// bytes. The header dictionary is parsed here rather than by npyio's
// npy.NewReader: that one (v0.14.0) drops the last dimension of a header
// written without a trailing comma (real files from ndarray-npy do this)
// and trusts the header length for its allocation.
func readNpyHeader(r io.ReaderAt, size int64) (npyHeader, error) {
	var h npyHeader
	pre := make([]byte, 12)
	n, _ := r.ReadAt(pre, 0)
	if n < 10 || !isNpy(pre) {
		return h, fmt.Errorf("not a .npy file (no \\x93NUMPY magic)")
	}
	var hlen, start int64
	switch major := pre[6]; major {
	case 1:
		hlen, start = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		if n < 12 {
			return h, fmt.Errorf("truncated .npy preamble (%d bytes)", n)
		}
		hlen, start = int64(binary.LittleEndian.Uint32(pre[8:12])), 12
	default:
		return h, fmt.Errorf("unsupported .npy format version %d.%d", major, pre[7])
	}
	if hlen > size-start {
		return h, fmt.Errorf(".npy header claims %d bytes, file has %d after the preamble", hlen, size-start)
	}
	if hlen > maxNpyHeader {
		return h, fmt.Errorf(".npy header of %d bytes is over the limit of %d", hlen, maxNpyHeader)
	}
	raw := make([]byte, hlen)
	if _, err := r.ReadAt(raw, start); err != nil && !(err == io.EOF && hlen == 0) {
		return h, fmt.Errorf("reading .npy header: %w", err)
	}
	h.DataStart = start + hlen
	lit, err := pyLiteral(string(raw))
	if err != nil {
		return h, fmt.Errorf("bad .npy header %s: %v", quoteShort(string(raw)), err)
	}
	items, ok := lit.([]pyItem)
	if !ok {
		return h, fmt.Errorf("bad .npy header %s: not a dictionary", quoteShort(string(raw)))
	}
	var haveDescr, haveOrder, haveShape bool
	for _, it := range items {
		switch it.Key {
		case "descr":
			s, ok := it.Value.(string)
			if !ok {
				return h, fmt.Errorf("structured dtype %s is not supported (only plain numeric arrays)", quoteShort(fmt.Sprint(it.Value)))
			}
			h.Descr, haveDescr = s, true
		case "fortran_order":
			b, ok := it.Value.(bool)
			if !ok {
				return h, fmt.Errorf("bad .npy header: fortran_order is not True or False")
			}
			h.Fortran, haveOrder = b, true
		case "shape":
			tup, ok := it.Value.([]any)
			if !ok {
				return h, fmt.Errorf("bad .npy header: shape is not a tuple")
			}
			h.Shape = make([]int64, len(tup))
			for i, d := range tup {
				v, ok := d.(int64)
				if !ok || v < 0 {
					return h, fmt.Errorf("bad .npy header: shape %v has a dimension that is not a non-negative integer", tup)
				}
				h.Shape[i] = v
			}
			haveShape = true
		}
	}
	if !haveDescr || !haveOrder || !haveShape {
		return h, fmt.Errorf("bad .npy header %s: needs descr, fortran_order and shape", quoteShort(string(raw)))
	}
	h.DType, h.BigEndian, err = npyDType(h.Descr)
	return h, err
}

// npyDType maps a numpy type string ("<f4", ">i8", "|b1") to a dtype.
func npyDType(descr string) (dt safetensors.DType, bigEndian bool, err error) {
	if len(descr) < 2 {
		return 0, false, fmt.Errorf("bad dtype %q", descr)
	}
	order := descr[0]
	rest := descr[1:]
	switch order {
	case '<', '|', '=':
	case '>':
		bigEndian = true
	default:
		order, rest = '|', descr
	}
	kind := rest[0]
	size, perr := strconv.Atoi(rest[1:])
	switch kind {
	case 'O':
		return 0, false, fmt.Errorf("object array (dtype %q) holds pickled Python objects; refcmp never unpickles them: save a numeric array instead", descr)
	case 'c':
		return 0, false, fmt.Errorf("complex dtype %q is not supported: compare the real and imaginary parts as separate arrays", descr)
	case 'U', 'S', 'a', 'V':
		return 0, false, fmt.Errorf("dtype %q is not numeric (strings or raw records are not supported)", descr)
	case 'M', 'm':
		return 0, false, fmt.Errorf("datetime dtype %q is not supported", descr)
	}
	if perr != nil {
		return 0, false, fmt.Errorf("unsupported dtype %q", descr)
	}
	switch {
	case kind == 'b' && size == 1:
		dt = safetensors.Bool
	case kind == 'i' && size == 1:
		dt = safetensors.I8
	case kind == 'i' && size == 2:
		dt = safetensors.I16
	case kind == 'i' && size == 4:
		dt = safetensors.I32
	case kind == 'i' && size == 8:
		dt = safetensors.I64
	case kind == 'u' && size == 1:
		dt = safetensors.U8
	case kind == 'u' && size == 2:
		dt = safetensors.U16
	case kind == 'u' && size == 4:
		dt = safetensors.U32
	case kind == 'u' && size == 8:
		dt = safetensors.U64
	case kind == 'f' && size == 2:
		dt = safetensors.F16
	case kind == 'f' && size == 4:
		dt = safetensors.F32
	case kind == 'f' && size == 8:
		dt = safetensors.F64
	default:
		return 0, false, fmt.Errorf("unsupported dtype %q", descr)
	}
	return dt, bigEndian && size > 1, nil
}

// npyTensor reads the .npy held in r (size bytes) as a tensor named name.
func npyTensor(name string, r io.ReaderAt, size int64, cfg config) (diffing.Tensor, error) {
	h, err := readNpyHeader(r, size)
	if err != nil {
		return diffing.Tensor{}, err
	}
	_, nbytes, err := byteSize(h.Shape, h.DType)
	if err != nil {
		return diffing.Tensor{}, err
	}
	have := size - h.DataStart
	if nbytes > have {
		return diffing.Tensor{}, fmt.Errorf("shape %v %s needs %d bytes of data, file has %d", h.Shape, h.DType, nbytes, have)
	}
	var strides []int64
	if h.Fortran {
		strides = fortranStrides(h.Shape)
	}
	data, err := cfg.tensorData(io.NewSectionReader(r, h.DataStart, have), have, h.DType, h.BigEndian, h.Shape, strides, 0)
	if err != nil {
		return diffing.Tensor{}, err
	}
	return diffing.Tensor{Name: name, DType: h.DType, Shape: h.Shape, Data: data}, nil
}

func openNpy(path string, cfg config) (*Container, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	t, err := npyTensor(filepath.Base(path), f, fi.Size(), cfg)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Container{
		Source:  path,
		Format:  FormatNpy,
		Tensors: []diffing.Tensor{t},
		Single:  true,
		closers: []io.Closer{f},
	}, nil
}

// quoteShort quotes s for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 120
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
