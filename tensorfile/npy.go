package tensorfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/refcmp/refcmp/tensor"
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
	DType     tensor.DType
	BigEndian bool
	Fortran   bool
	Shape     []int64
	DataStart int64 // offset of the first data byte
}

// readNpyHeader reads and checks a .npy header from r, which holds size
// bytes. The header dictionary is decoded by npyio's npy.NewReader, after
// two checks of our own that cover its gaps (TestNpyioHeaderGaps shows
// them): it allocates whatever length the preamble claims, so the length
// is checked against the file first; and it drops the last dimension of a
// header written without a trailing comma, as ndarray-npy writes them
// ("'shape': (2, 3, 4)}" reads as [2 3]), so that comma is put back.
// Double-quoted keys and Python 2's "3L" dimensions are rewritten to the
// spelling it knows.
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
	hdr, err := decodeNpyDict(raw)
	if err != nil {
		return h, fmt.Errorf("bad .npy header %s: %v", quoteShort(string(raw)), err)
	}
	h.Descr, h.Fortran = hdr.Descr.Type, hdr.Descr.Fortran
	h.Shape = make([]int64, len(hdr.Descr.Shape))
	for i, d := range hdr.Descr.Shape {
		if d < 0 {
			return h, fmt.Errorf("bad .npy header %s: shape %v has a dimension that is not a non-negative integer", quoteShort(string(raw)), hdr.Descr.Shape)
		}
		h.Shape[i] = int64(d)
	}
	h.Descr = strings.Trim(h.Descr, "'\"")
	if strings.HasPrefix(h.Descr, "[") || strings.HasPrefix(h.Descr, "{") {
		return h, fmt.Errorf("structured dtype %s is not supported (only plain numeric arrays)", quoteShort(h.Descr))
	}
	h.DType, h.BigEndian, err = npyDType(h.Descr)
	return h, err
}

var (
	errNpyDict   = errors.New("needs descr, fortran_order and shape, in numpy's layout")
	pyLongSuffix = regexp.MustCompile(`(\d)L\b`)
)

// decodeNpyDict decodes a .npy header dictionary with npyio, which expects
// numpy's own layout: "{'descr': ..., 'fortran_order': ..., 'shape': (...), }"
// ending in a newline.
func decodeNpyDict(raw []byte) (h npy.Header, err error) {
	text := strings.TrimRight(string(raw), " \n\r\t\x00")
	if c, ok, err := canonicalNpyDict(text); err != nil {
		return h, fmt.Errorf("%w (%v)", errNpyDict, err)
	} else if ok {
		text = c // keys in any order, any spacing, as numpy reads them
	}
	body, ok := strings.CutSuffix(text, "}")
	if !ok || !strings.HasPrefix(text, "{") {
		return h, fmt.Errorf("not a dictionary")
	}
	body = strings.TrimRight(body, " ")
	body = pyLongSuffix.ReplaceAllString(body, "$1") // Python 2 wrote (3L, 4L)
	body = strings.ReplaceAll(body, `"`, "'")        // npyio matches 'descr' only
	if !strings.HasSuffix(body, ",") {
		body += ","
	}
	var buf bytes.Buffer
	buf.Write(npy.Magic[:])
	hdr := body + " }\n"
	buf.Write([]byte{2, 0})
	binary.Write(&buf, binary.LittleEndian, uint32(len(hdr)))
	buf.WriteString(hdr)
	defer func() {
		if r := recover(); r != nil { // npyio slices the text by position
			err = errNpyDict
		}
	}()
	rd, err := npy.NewReader(&buf)
	if err != nil {
		return h, fmt.Errorf("%w (%v)", errNpyDict, err)
	}
	return rd.Header, nil
}

// canonicalNpyDict rewrites a header dictionary that numpy accepts
// (ast.literal_eval of a dict with exactly the keys descr, fortran_order
// and shape; a string, a bool, a tuple of ints) in numpy's own layout, the
// only one npyio reads. It reports false for anything else, which is left
// to npyio to refuse or read, or an error for a dictionary numpy refuses.
func canonicalNpyDict(text string) (string, bool, error) {
	p := pyLit{s: text}
	var descr string
	var fortran, haveF, haveD, haveS bool
	var shape []string
	if !p.eat('{') {
		return "", false, nil
	}
	for !p.eat('}') {
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return "", false, nil
		}
		switch key {
		case "descr":
			if descr, ok = p.str(); !ok || haveD {
				return "", false, nil
			}
			haveD = true
		case "fortran_order":
			switch {
			case p.word("True"):
				fortran = true
			case p.word("False"):
			default:
				return "", false, nil
			}
			if haveF {
				return "", false, nil
			}
			haveF = true
		case "shape":
			if p.peek('[') {
				return "", false, errors.New("shape is a list; numpy wants a tuple")
			}
			if !p.eat('(') || haveS {
				return "", false, nil
			}
			haveS = true
			shape = []string{}
			for !p.eat(')') {
				d, ok := p.int()
				if !ok {
					return "", false, nil
				}
				shape = append(shape, d)
				if !p.eat(',') && !p.peek(')') {
					return "", false, nil
				}
			}
		default:
			return "", false, fmt.Errorf("key %q: numpy wants exactly descr, fortran_order and shape", key)
		}
		if !p.eat(',') && !p.peek('}') {
			return "", false, nil
		}
	}
	p.space()
	if p.i != len(p.s) || !haveD || !haveF || !haveS || strings.ContainsAny(descr, `'\`) {
		return "", false, nil
	}
	dims := strings.Join(shape, ", ")
	if len(shape) == 1 {
		dims += ","
	}
	f := "False"
	if fortran {
		f = "True"
	}
	return fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr, f, dims), true, nil
}

// pyLit scans the few Python literals of a .npy header.
type pyLit struct {
	s string
	i int
}

func (p *pyLit) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyLit) peek(c byte) bool { p.space(); return p.i < len(p.s) && p.s[p.i] == c }

func (p *pyLit) eat(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

func (p *pyLit) word(w string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// str reads a quoted string without escapes.
func (p *pyLit) str() (string, bool) {
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.ContainsRune(v, '\\') {
		return "", false
	}
	p.i += end + 2
	return v, true
}

// int reads a non-negative decimal integer (Python 2's "3L" too).
func (p *pyLit) int() (string, bool) {
	p.space()
	j := p.i
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	if j == p.i || j-p.i > 19 {
		return "", false
	}
	v := p.s[p.i:j]
	p.i = j
	if p.i < len(p.s) && p.s[p.i] == 'L' {
		p.i++
	}
	return v, true
}

// npyDType maps a numpy type string ("<f4", ">i8", "|b1") to a dtype.
func npyDType(descr string) (dt tensor.DType, bigEndian bool, err error) {
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
		dt = tensor.Bool
	case kind == 'i' && size == 1:
		dt = tensor.I8
	case kind == 'i' && size == 2:
		dt = tensor.I16
	case kind == 'i' && size == 4:
		dt = tensor.I32
	case kind == 'i' && size == 8:
		dt = tensor.I64
	case kind == 'u' && size == 1:
		dt = tensor.U8
	case kind == 'u' && size == 2:
		dt = tensor.U16
	case kind == 'u' && size == 4:
		dt = tensor.U32
	case kind == 'u' && size == 8:
		dt = tensor.U64
	case kind == 'f' && size == 2:
		dt = tensor.F16
	case kind == 'f' && size == 4:
		dt = tensor.F32
	case kind == 'f' && size == 8:
		dt = tensor.F64
	default:
		return 0, false, fmt.Errorf("unsupported dtype %q", descr)
	}
	return dt, bigEndian && size > 1, nil
}

// npyTensor reads the .npy held in r (size bytes) as a tensor named name.
func npyTensor(name string, r io.ReaderAt, size int64, cfg config) (tensor.Tensor, error) {
	h, err := readNpyHeader(r, size)
	if err != nil {
		return tensor.Tensor{}, err
	}
	_, nbytes, err := byteSize(h.Shape, h.DType)
	if err != nil {
		return tensor.Tensor{}, err
	}
	have := size - h.DataStart
	if nbytes > have {
		return tensor.Tensor{}, fmt.Errorf("shape %v %s needs %d bytes of data, file has %d", h.Shape, h.DType, nbytes, have)
	}
	var strides []int64
	if h.Fortran {
		strides = fortranStrides(h.Shape)
	}
	data, err := cfg.tensorData(io.NewSectionReader(r, h.DataStart, have), have, h.DType, h.BigEndian, h.Shape, strides, 0)
	if err != nil {
		return tensor.Tensor{}, err
	}
	return tensor.Tensor{Name: name, DType: h.DType, Shape: h.Shape, Data: data}, nil
}

func openNpy(path string, cfg config) (*Container, error) {
	return openWith(path, func(f *os.File, size int64) (*Container, error) {
		t, err := npyTensor(filepath.Base(path), f, size, cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &Container{Source: path, Format: FormatNpy, Tensors: []tensor.Tensor{t}, Single: true}, nil
	})
}

// quoteShort quotes s for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 120
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
