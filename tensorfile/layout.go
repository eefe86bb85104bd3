package tensorfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/refcmp/refcmp/tensor"
)

// maxDims bounds the dimensions of a tensor (numpy's NPY_MAXDIMS).
const maxDims = 64

// byteSize checks a shape from a header and returns its element count and
// its size in bytes for dt, refusing negative dimensions and overflow. A
// nil shape is a header's scalar.
func byteSize(shape []int64, dt tensor.DType) (numel, nbytes int64, err error) {
	es := int64(dt.Size())
	if es == 0 {
		return 0, 0, fmt.Errorf("dtype %s has no element size", dt)
	}
	if slices.ContainsFunc(shape, func(d int64) bool { return d < 0 }) {
		return 0, 0, fmt.Errorf("shape %v has a negative dimension", shape)
	}
	if shape == nil {
		shape = []int64{}
	}
	numel, ok := tensor.Numel(shape)
	if !ok || numel > math.MaxInt64/es {
		return 0, 0, fmt.Errorf("shape %v is too large", shape)
	}
	return numel, numel * es, nil
}

// mulText is a*b in decimal, exact past 64 bits: byte counts in messages
// are never an overflowed product.
func mulText(a, b uint64) string {
	return new(big.Int).Mul(new(big.Int).SetUint64(a), new(big.Int).SetUint64(b)).String()
}

// sumText is a+b in decimal, exact past 64 bits.
func sumText(a, b int64) string {
	return new(big.Int).Add(big.NewInt(a), big.NewInt(b)).String()
}

// isContiguous reports whether strides (in elements) describe C order for
// shape; dimensions of size 1 may have any stride.
func isContiguous(shape, strides []int64) bool {
	if len(shape) != len(strides) {
		return false
	}
	want := int64(1)
	for k := len(shape) - 1; k >= 0; k-- {
		if shape[k] == 0 {
			return true
		}
		if shape[k] != 1 && strides[k] != want {
			return false
		}
		want *= shape[k]
	}
	return true
}

// fortranStrides returns the strides (in elements) of a Fortran-order
// array of the given shape.
func fortranStrides(shape []int64) []int64 {
	st := make([]int64, len(shape))
	s := int64(1)
	for k := range shape {
		st[k] = s
		s *= shape[k]
	}
	return st
}

// gather reads a strided tensor out of a storage and returns its bytes in
// C order. The storage holds srcBytes bytes of esize-byte elements at src;
// the tensor starts offset elements in. At most max bytes are held for
// the read span and for the result each.
func gather(src io.ReaderAt, srcBytes, esize int64, shape, strides []int64, offset, max int64) ([]byte, error) {
	numel := int64(1)
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d == 0 {
			return []byte{}, nil
		}
		if numel > max/esize/d {
			return nil, fmt.Errorf("shape %v is over the in-memory limit of %d bytes", shape, max)
		}
		numel *= d
	}
	if numel == 0 {
		return []byte{}, nil
	}
	if numel*esize > max {
		return nil, fmt.Errorf("shape %v needs %d bytes in memory to reorder, over the limit of %d", shape, numel*esize, max)
	}
	span, err := stridedSpan(srcBytes, esize, shape, strides, offset)
	if err != nil {
		return nil, err
	}
	if span > max {
		return nil, fmt.Errorf("strided tensor spans %d bytes of storage, over the in-memory limit of %d", span, max)
	}
	buf := make([]byte, span)
	if n, err := src.ReadAt(buf, offset*esize); int64(n) < span {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading storage: %w", err)
	}
	out := make([]byte, numel*esize)
	nd := len(shape)
	idx := make([]int64, nd)
	pos := int64(0)
	for o := int64(0); o < numel; o++ {
		copy(out[o*esize:(o+1)*esize], buf[pos*esize:(pos+1)*esize])
		for k := nd - 1; k >= 0; k-- {
			idx[k]++
			pos += strides[k]
			if idx[k] < shape[k] {
				break
			}
			pos -= strides[k] * shape[k]
			idx[k] = 0
		}
	}
	return out, nil
}

// stridedSpan checks that a strided tensor lies inside its storage and
// returns the bytes from its first element to its last.
func stridedSpan(srcBytes, esize int64, shape, strides []int64, offset int64) (int64, error) {
	if len(shape) != len(strides) {
		return 0, fmt.Errorf("shape %v and strides %v differ in length", shape, strides)
	}
	if offset < 0 {
		return 0, fmt.Errorf("negative storage offset %d", offset)
	}
	last := offset
	for k, d := range shape {
		if d == 0 {
			return 0, nil
		}
		s := strides[k]
		if s < 0 {
			return 0, fmt.Errorf("negative stride in %v", strides)
		}
		if s != 0 && d-1 > (math.MaxInt64/esize-1-last)/s {
			return 0, fmt.Errorf("strides %v with shape %v overflow", strides, shape)
		}
		last += (d - 1) * s
	}
	end := (last + 1) * esize
	if end > srcBytes {
		return 0, fmt.Errorf("shape %v, strides %v, offset %d need %d bytes of storage, storage has %d", shape, strides, offset, end, srcBytes)
	}
	return end - offset*esize, nil
}

// swapInPlace reverses the byte order of every esize-byte element of b.
func swapInPlace(b []byte, esize int) {
	le := binary.LittleEndian
	switch esize {
	case 0, 1:
		return
	case 2:
		for i := 0; i+2 <= len(b); i += 2 {
			le.PutUint16(b[i:], bits.ReverseBytes16(le.Uint16(b[i:])))
		}
		return
	case 4:
		for i := 0; i+4 <= len(b); i += 4 {
			le.PutUint32(b[i:], bits.ReverseBytes32(le.Uint32(b[i:])))
		}
		return
	case 8:
		for i := 0; i+8 <= len(b); i += 8 {
			le.PutUint64(b[i:], bits.ReverseBytes64(le.Uint64(b[i:])))
		}
		return
	}
	for i := 0; i+esize <= len(b); i += esize {
		e := b[i : i+esize]
		for l, r := 0, esize-1; l < r; l, r = l+1, r-1 {
			e[l], e[r] = e[r], e[l]
		}
	}
}

// swapReaderAt reads a big-endian storage of esize-byte elements as
// little-endian bytes, converting each read on the fly. Reads may start
// and end anywhere, not only on element boundaries.
type swapReaderAt struct {
	r     io.ReaderAt
	esize int64
	size  int64
}

func newSwapReaderAt(r io.ReaderAt, esize int, size int64) io.ReaderAt {
	if esize <= 1 {
		return r
	}
	return &swapReaderAt{r: r, esize: int64(esize), size: size}
}

const swapChunk = 1 << 20

func (s *swapReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	total := 0
	var buf []byte
	for total < len(p) {
		o := off + int64(total)
		if o >= s.size {
			return total, io.EOF
		}
		want := int64(len(p) - total)
		if want > swapChunk {
			want = swapChunk
		}
		end := min(o+want, s.size)
		a0 := o - o%s.esize
		a1 := end
		if r := a1 % s.esize; r != 0 {
			a1 += s.esize - r
		}
		if a1 > s.size {
			a1 = s.size - s.size%s.esize
			if a1 <= a0 {
				return total, io.ErrUnexpectedEOF
			}
		}
		if int64(cap(buf)) < a1-a0 {
			buf = make([]byte, a1-a0)
		}
		b := buf[:a1-a0]
		n, err := s.r.ReadAt(b, a0)
		b = b[:int64(n)-int64(n)%s.esize]
		swapInPlace(b, int(s.esize))
		if int64(len(b)) <= o-a0 {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return total, err
		}
		c := copy(p[total:], b[o-a0:min(int64(len(b)), end-a0)])
		total += c
		if int64(c) < end-o {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return total, err
		}
	}
	return total, nil
}

// tensorData returns a reader of the C-order little-endian bytes of a
// tensor held in a storage (src, srcBytes bytes of esize-byte elements,
// in byte order bigEndian), placed by offset and strides (in elements;
// nil strides mean C order). In header-only mode it checks the placement
// and returns nil.
func (cfg config) tensorData(src io.ReaderAt, srcBytes int64, dt tensor.DType, bigEndian bool, shape, strides []int64, offset int64) (io.ReaderAt, error) {
	es := int64(dt.Size())
	_, nbytes, err := byteSize(shape, dt)
	if err != nil {
		return nil, err
	}
	if strides == nil || isContiguous(shape, strides) {
		if offset < 0 || offset > srcBytes/es {
			return nil, fmt.Errorf("storage offset %d is outside the storage of %d bytes", offset, srcBytes)
		}
		if nbytes > srcBytes-offset*es {
			return nil, fmt.Errorf("shape %v %s at element offset %d needs %s bytes, storage has %d", shape, dt, offset, sumText(nbytes, offset*es), srcBytes)
		}
		if cfg.headerOnly {
			return nil, nil
		}
		var r io.ReaderAt = io.NewSectionReader(src, offset*es, nbytes)
		if bigEndian {
			r = newSwapReaderAt(r, int(es), nbytes)
		}
		return r, nil
	}
	span, err := stridedSpan(srcBytes, es, shape, strides, offset)
	if err != nil || cfg.headerOnly {
		return nil, err
	}
	max := cfg.maxMem()
	if span < nbytes/2 {
		// Broadcast or overlapping: hold the span, map indices as read.
		if span > max {
			return nil, fmt.Errorf("shape %v, strides %v: the storage it spans needs %d bytes in memory, over the limit of %d", shape, strides, span, max)
		}
		return &stridedReaderAt{esize: es, shape: shape, strides: strides, nbytes: nbytes,
			span: &lazyReaderAt{size: span, cache: cfg.cache, open: func() (io.ReaderAt, error) {
				b := make([]byte, span)
				if n, err := src.ReadAt(b, offset*es); int64(n) < span {
					if err == nil || err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return nil, fmt.Errorf("reading storage: %w", err)
				}
				if bigEndian {
					swapInPlace(b, int(es))
				}
				return bytes.NewReader(b), nil
			}}}, nil
	}
	if nbytes > max || span > max {
		return nil, fmt.Errorf("shape %v, strides %v: reordering into C order needs %d bytes in memory (spanning %d), over the limit of %d", shape, strides, nbytes, span, max)
	}
	return &lazyReaderAt{size: nbytes + span, cache: cfg.cache, open: func() (io.ReaderAt, error) {
		b, err := gather(src, srcBytes, es, shape, strides, offset, cfg.maxMem())
		if err != nil {
			return nil, err
		}
		if bigEndian {
			swapInPlace(b, int(es))
		}
		return bytes.NewReader(b), nil
	}}, nil
}

// lazyReaderAt builds its reader on the first read: tensors that must be
// reordered or inflated take memory only once they are compared. The
// bytes it holds count against its cache; when the cache is over budget
// the least recently read are dropped, and built again if read again.
type lazyReaderAt struct {
	open  func() (io.ReaderAt, error)
	size  int64 // bytes held once open
	cache *memCache

	mu  sync.Mutex // serializes open
	r   atomic.Pointer[io.ReaderAt]
	err error
}

func (l *lazyReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r, err := l.reader()
	if err != nil {
		return 0, err
	}
	return r.ReadAt(p, off)
}

func (l *lazyReaderAt) reader() (io.ReaderAt, error) {
	if r := l.r.Load(); r != nil {
		l.cache.touch(l)
		return *r, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return nil, l.err
	}
	if r := l.r.Load(); r != nil {
		return *r, nil
	}
	r, err := l.open()
	if err != nil {
		l.err = err
		return nil, err
	}
	l.r.Store(&r)
	l.cache.add(l)
	return r, nil
}

// memCache bounds the bytes that the lazy readers of one Open hold at
// once (decompressed members, reordered tensors). A nil memCache bounds
// nothing.
type memCache struct {
	mu     sync.Mutex
	budget int64
	held   int64
	tick   uint64
	live   map[*lazyReaderAt]uint64 // last use
}

func newMemCache(budget int64) *memCache {
	return &memCache{budget: budget, live: map[*lazyReaderAt]uint64{}}
}

// add counts l's bytes and drops the least recently used others until
// the cache is within budget.
func (c *memCache) add(l *lazyReaderAt) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	c.live[l] = c.tick
	c.held += l.size
	for c.held > c.budget && len(c.live) > 1 {
		var old *lazyReaderAt
		for v, t := range c.live {
			if v != l && (old == nil || t < c.live[old]) {
				old = v
			}
		}
		old.r.Store(nil)
		c.held -= old.size
		delete(c.live, old)
	}
}

func (c *memCache) touch(l *lazyReaderAt) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.tick++
	if _, ok := c.live[l]; ok {
		c.live[l] = c.tick
	}
	c.mu.Unlock()
}

// stridedReaderAt reads a strided tensor in C order from a copy of the
// storage span it covers, mapping each element's index to its place in
// the span as it is read: a broadcast (stride-0) tensor costs the bytes
// of its storage, not of its shape.
type stridedReaderAt struct {
	span    io.ReaderAt // the storage from the tensor's offset, span bytes
	esize   int64
	shape   []int64
	strides []int64
	nbytes  int64
}

func (s *stridedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= s.nbytes {
		return 0, io.EOF
	}
	n := min(int64(len(p)), s.nbytes-off)
	es := s.esize
	first := off / es
	// The index of element first, and its place in the span.
	nd := len(s.shape)
	idx := make([]int64, nd)
	pos := int64(0)
	for k, rem := nd-1, first; k >= 0; k-- {
		idx[k] = rem % s.shape[k]
		rem /= s.shape[k]
		pos += idx[k] * s.strides[k]
	}
	var el [16]byte
	e := el[:es]
	done := int64(0)
	for o := first; done < n; o++ {
		if _, err := s.span.ReadAt(e, pos*es); err != nil {
			return int(done), err
		}
		skip := int64(0)
		if o == first {
			skip = off - first*es
		}
		done += int64(copy(p[done:n], e[skip:]))
		for k := nd - 1; k >= 0; k-- {
			idx[k]++
			pos += s.strides[k]
			if idx[k] < s.shape[k] {
				break
			}
			pos -= idx[k] * s.strides[k]
			idx[k] = 0
		}
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}
