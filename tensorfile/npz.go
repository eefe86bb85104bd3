package tensorfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path"
	"strings"
	"sync"
)

// zipKind tells a .npz from a PyTorch zip checkpoint.
func zipKind(name string, f io.ReaderAt, size int64) (string, error) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return "", fmt.Errorf("%s: broken zip archive: %w", name, err)
	}
	if _, ok := torchPrefix(zr); ok {
		return FormatPyTorchZip, nil
	}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, ".npy") {
			return FormatNpz, nil
		}
	}
	if len(zr.File) == 0 {
		return FormatNpz, nil // np.savez with no arrays
	}
	return "", fmt.Errorf("%s: zip archive is neither an .npz (no .npy members) nor a PyTorch checkpoint (no data.pkl)", name)
}

// openZip opens a .npz or a PyTorch zip checkpoint.
func openZip(name string, cfg config) (*Container, error) {
	return openWith(name, func(f *os.File, size int64) (*Container, error) {
		zr, err := zip.NewReader(f, size)
		if err != nil {
			return nil, fmt.Errorf("%s: broken zip archive: %w", name, err)
		}
		if prefix, ok := torchPrefix(zr); ok {
			return readTorchZip(name, f, size, zr, prefix, cfg)
		}
		return readNpz(name, f, size, zr, cfg)
	})
}

func readNpz(name string, f io.ReaderAt, fsize int64, zr *zip.Reader, cfg config) (*Container, error) {
	c := &Container{Source: name, Format: FormatNpz, Ordered: true}
	seen := map[string]bool{}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue
		}
		tname := strings.TrimSuffix(zf.Name, ".npy")
		if seen[tname] {
			return nil, fmt.Errorf("%s: member %q appears twice", name, zf.Name)
		}
		seen[tname] = true
		var r io.ReaderAt
		var size int64
		var err error
		if cfg.headerOnly && zf.Method != zip.Store {
			r, size, err = npyMemberHead(zf)
		} else {
			r, size, err = zipMember(f, fsize, zf, cfg.maxMem(), cfg.cache)
			if err == nil && zf.Method == zip.Store {
				r = &crcReaderAt{r: r, name: zf.Name, size: size, want: zf.CRC32}
			}
			if err == nil && zf.Method != zip.Store {
				// Read the header from the first bytes now, the data on
				// first use.
				var head io.ReaderAt
				if head, _, err = npyMemberHead(zf); err == nil {
					r = headThen{head: head, rest: r}
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: member %q: %w", name, zf.Name, err)
		}
		t, err := npyTensor(tname, r, size, cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: member %q: %w", name, zf.Name, err)
		}
		c.Tensors = append(c.Tensors, t)
	}
	return c, nil
}

// zipMember returns a reader of one archive member's bytes: a section of
// the file when the member is stored (no copy), or its bytes decompressed
// in memory, up to max, when it is deflated.
func zipMember(f io.ReaderAt, fsize int64, zf *zip.File, max int64, cache *memCache) (io.ReaderAt, int64, error) {
	if zf.UncompressedSize64 > 1<<62 || zf.CompressedSize64 > 1<<62 {
		return nil, 0, fmt.Errorf("member size %d is not plausible", zf.UncompressedSize64)
	}
	usize := int64(zf.UncompressedSize64)
	switch zf.Method {
	case zip.Store:
		off, err := zf.DataOffset()
		if err != nil {
			return nil, 0, err
		}
		if int64(zf.CompressedSize64) != usize {
			return nil, 0, fmt.Errorf("stored member has compressed size %d but size %d", zf.CompressedSize64, usize)
		}
		if off < 0 || usize > fsize-off {
			return nil, 0, fmt.Errorf("stored member of %d bytes at offset %d runs past the end of the %d-byte file", usize, off, fsize)
		}
		return io.NewSectionReader(f, off, usize), usize, nil
	case zip.Deflate:
		if usize > max {
			return nil, 0, fmt.Errorf("compressed member inflates to %d bytes, over the in-memory limit of %d", usize, max)
		}
		return &lazyReaderAt{size: usize, cache: cache, open: func() (io.ReaderAt, error) {
			b, err := inflate(zf, usize)
			if err != nil {
				return nil, fmt.Errorf("member %q: %w", zf.Name, err)
			}
			return bytes.NewReader(b), nil
		}}, usize, nil
	}
	return nil, 0, fmt.Errorf("unsupported zip compression method %d", zf.Method)
}

// inflate decompresses a member of declared size usize.
func inflate(zf *zip.File, usize int64) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := bytes.NewBuffer(make([]byte, 0, min(usize, 64<<20)+bytes.MinRead))
	n, err := io.Copy(buf, io.LimitReader(rc, usize+1))
	if err != nil {
		return nil, fmt.Errorf("inflating: %w", err)
	}
	if n != usize {
		return nil, fmt.Errorf("member inflates to %d bytes, not its declared %d", n, usize)
	}
	return buf.Bytes(), nil
}

// crcReaderAt checks a stored member's CRC-32 as numpy does, when its
// last byte is read: on the fly while the reads run in order from the
// start, else in one more pass over the member.
type crcReaderAt struct {
	r    io.ReaderAt
	name string
	size int64
	want uint32

	mu   sync.Mutex
	next int64 // bytes hashed so far, in order
	crc  uint32
	err  error // the verdict, once known
	done bool
}

func (c *crcReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		if c.err != nil {
			return 0, c.err
		}
		return n, err
	}
	if off <= c.next && off+int64(n) > c.next {
		c.crc = crc32.Update(c.crc, crc32.IEEETable, p[c.next-off:n])
		c.next = off + int64(n)
	}
	if off+int64(n) < c.size {
		return n, err
	}
	if c.next < c.size { // read out of order: hash it all once
		h := crc32.NewIEEE()
		if _, cerr := io.Copy(h, io.NewSectionReader(c.r, 0, c.size)); cerr != nil {
			return n, cerr
		}
		c.crc = h.Sum32()
	}
	c.done = true
	if c.crc != c.want {
		c.err = fmt.Errorf("member %q: CRC-32 of its bytes is %08x, the archive says %08x: the file is corrupt", c.name, c.crc, c.want)
		return 0, c.err
	}
	return n, err
}

// npyMemberHead inflates the .npy header of a compressed member: its
// preamble, then as many bytes as the preamble's header length says (up
// to maxNpyHeader), not more.
func npyMemberHead(zf *zip.File) (io.ReaderAt, int64, error) {
	if zf.UncompressedSize64 > 1<<62 {
		return nil, 0, fmt.Errorf("member size %d is not plausible", zf.UncompressedSize64)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	b := make([]byte, 12)
	n, err := io.ReadFull(rc, b)
	b = b[:n]
	if err == nil && isNpy(b) {
		hl, at := int64(binary.LittleEndian.Uint16(b[8:])), int64(10)
		if b[6] >= 2 {
			hl, at = int64(binary.LittleEndian.Uint32(b[8:])), 12
		}
		rest := min(at+hl, maxNpyHeader+12) - int64(len(b))
		if rest > 0 {
			more, err := io.ReadAll(io.LimitReader(rc, rest))
			if err != nil {
				return nil, 0, fmt.Errorf("inflating: %w", err)
			}
			b = append(b, more...)
		}
	}
	return bytes.NewReader(b), int64(zf.UncompressedSize64), nil
}

// memberBytes reads a whole (small) member into memory, up to max bytes.
func memberBytes(f io.ReaderAt, fsize int64, zf *zip.File, max int64) ([]byte, error) {
	r, size, err := zipMember(f, fsize, zf, max, nil)
	if err != nil {
		return nil, err
	}
	if size > max {
		return nil, fmt.Errorf("member of %d bytes is over the limit of %d", size, max)
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && !(err == io.EOF && size == 0) {
		return nil, err
	}
	return b, nil
}

// torchPrefix finds the member prefix of a PyTorch zip checkpoint
// ("archive/", or the file stem torch.save used): the directory holding
// data.pkl.
func torchPrefix(zr *zip.Reader) (string, bool) {
	for _, zf := range zr.File {
		dir, file := path.Split(zf.Name)
		if file == "data.pkl" && strings.Count(dir, "/") <= 1 {
			return dir, true
		}
	}
	return "", false
}

// headThen reads the first bytes of a lazily inflated member from head
// (inflated eagerly, just enough for a header) and the rest from rest.
type headThen struct {
	head io.ReaderAt
	rest io.ReaderAt
}

func (h headThen) ReadAt(p []byte, off int64) (int, error) {
	if n, _ := h.head.ReadAt(p, off); n == len(p) {
		return n, nil
	}
	return h.rest.ReadAt(p, off)
}
