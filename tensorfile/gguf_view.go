package tensorfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"unsafe"

	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// viewChunk bounds the elements a decoded view decodes at a time.
const viewChunk = 1 << 16

// decodedView reads a block-quantized GGUF tensor as little-endian
// float32 bytes: each read decodes only the blocks it covers, at most
// viewChunk elements at a time, into per-read scratch. A read that starts
// and ends on block boundaries (every read of the compare pass, whose
// chunks are whole blocks) writes the values straight into p.
type decodedView struct {
	r    io.ReaderAt
	typ  gguf.Type
	off  int64 // absolute offset of the data
	n    int64 // elements
	pool sync.Pool
}

type viewScratch struct {
	raw  []byte
	vals []float32
}

func newDecodedView(r io.ReaderAt, t gguf.Type, off, n int64) *decodedView {
	return &decodedView{r: r, typ: t, off: off, n: n}
}

// Size is the decoded data's size in bytes.
func (v *decodedView) Size() int64 { return 4 * v.n }

func (v *decodedView) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	size := v.Size()
	if off >= size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), size)
	bs, bb := int64(v.typ.BlockSize()), int64(v.typ.BlockBytes())
	s, _ := v.pool.Get().(*viewScratch)
	if s == nil {
		per := max(viewChunk/bs, 1)
		s = &viewScratch{raw: make([]byte, per*bb), vals: make([]float32, per*bs)}
	}
	defer v.pool.Put(s)
	per := int64(len(s.vals)) / bs
	e0, e1 := off/4, (end+3)/4
	for b := e0 / bs; b*bs < e1; b += per {
		k := min(per, (e1+bs-1)/bs-b)
		base := 4 * b * bs
		lo, hi := max(off, base), min(end, base+4*k*bs)
		raw := s.raw[:k*bb]
		if _, err := v.r.ReadAt(raw, v.off+b*bb); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("reading %s blocks at %d: %w", v.typ, v.off+b*bb, err)
		}
		dst := p[lo-off : hi-off]
		if direct := f32Slice(dst); direct != nil && lo == base && hi == base+4*k*bs {
			// The whole decoded range is in p: decode in place.
			if err := gguf.Dequantize(v.typ, binary.LittleEndian, raw, direct); err != nil {
				return 0, err
			}
			continue
		}
		vals := s.vals[:k*bs]
		if err := gguf.Dequantize(v.typ, binary.LittleEndian, raw, vals); err != nil {
			return 0, err
		}
		// The bytes [lo, hi) of the decoded range that p asked for.
		if lo%4 == 0 && hi%4 == 0 {
			putF32(dst, vals[(lo-base)/4:(hi-base)/4])
			continue
		}
		var w [4]byte
		for q := lo; q < hi; {
			binary.LittleEndian.PutUint32(w[:], math.Float32bits(vals[(q-base)/4]))
			c := copy(p[q-off:hi-off], w[q%4:])
			q += int64(c)
		}
	}
	if end-off < int64(len(p)) {
		return int(end - off), io.EOF
	}
	return len(p), nil
}

// f32Slice returns b as float32s when they are its little-endian bytes
// in place (a little-endian host, b aligned to 4 bytes and a whole number
// of elements), else nil.
func f32Slice(b []byte) []float32 {
	if len(b) == 0 || len(b)%4 != 0 || uintptr(unsafe.Pointer(&b[0]))%4 != 0 || binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// putF32 writes vals as little-endian float32 bytes into dst.
func putF32(dst []byte, vals []float32) {
	dst = dst[:4*len(vals)]
	for i, x := range vals {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(x))
	}
}
