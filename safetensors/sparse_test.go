package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/refcmp/refcmp/internal/testenv"
	"golang.org/x/sys/unix"
)

// sparseFile writes a safetensors file of exactly size bytes to dir: the
// real header of the corpus file src, with one more U8 tensor, "zz.filler",
// that fills the rest of the file. Only the header is written; the data
// region is a hole made by os.Truncate, so the file takes no disk space.
func sparseFile(t testing.TB, dir, src string, size int64) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(binary.LittleEndian.Uint64(b))
	hdr := bytes.TrimRight(b[8:8+n], " ")
	hdr = hdr[:len(hdr)-1] // drop the closing '}'
	data := int64(len(b)) - 8 - n
	var full []byte
	for hn := n; ; {
		fill := size - 8 - hn - data
		full = fmt.Appendf(bytes.Clone(hdr), `,"zz.filler":{"dtype":"U8","shape":[%d],"data_offsets":[%d,%d]}}`, fill, data, data+fill)
		for len(full)%8 != 0 {
			full = append(full, ' ')
		}
		if int64(len(full)) == hn {
			break
		}
		hn = int64(len(full))
	}
	path := filepath.Join(dir, fmt.Sprintf("%s.%d.safetensors", filepath.Base(src), size))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(full)))
	out = append(out, full...)
	if _, err := f.Write(out); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Skipf("cannot make a %d-byte sparse file here: %v", size, err)
	}
	return path
}

var sparseSizes = []struct {
	name string
	size int64
}{
	{"1MiB", 1 << 20},
	{"1GiB", 1 << 30},
	{"100GiB", 100 << 30},
}

var sparseSources = []string{
	"SafeTensors.jl/non_sharded/model.safetensors", // F8 dtypes: the patched path
	"coffeevampir_mlp_save_model.safetensors",      // plain library path, with __metadata__
}

// TestReadHeaderSparse lists files up to 100 GiB whose data region is a
// hole, and checks with mincore(2) that no more than a readahead window of
// pages past the header entered the page cache: ReadHeader never reads
// tensor data.
func TestReadHeaderSparse(t *testing.T) {
	root := testenv.RealData(t)
	dir := t.TempDir()
	for _, src := range sparseSources {
		for _, sz := range sparseSizes {
			t.Run(filepath.Base(src)+"/"+sz.name, func(t *testing.T) {
				path := sparseFile(t, dir, filepath.Join(root, "safetensors", src), sz.size)
				f, err := ReadHeader(path)
				if err != nil {
					t.Fatal(err)
				}
				last := f.Tensors[len(f.Tensors)-1]
				if last.Name != "zz.filler" || last.End != sz.size || f.Size != sz.size {
					t.Errorf("last tensor %+v, size %d", last, f.Size)
				}
				// Allow for the kernel's readahead window, a bound that
				// does not grow with the file.
				if n := residentPagesAfter(t, path, 8+f.HeaderLen); n > 64 {
					t.Errorf("%d data pages were read", n)
				}
				os.Remove(path)
			})
		}
	}
}

// residentPagesAfter counts the pages of the file at path that are in the
// page cache, from the first page starting at or after off.
func residentPagesAfter(t *testing.T, path string, off int64) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := int64(os.Getpagesize())
	vec := make([]byte, (fi.Size()+page-1)/page)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec[(off+page-1)/page:] {
		n += int(v & 1)
	}
	return n
}

// BenchmarkReadHeaderSparse shows that ReadHeader's time does not grow
// with the size of the data region:
//
//	go test -run '^$' -bench ReadHeaderSparse -benchmem ./safetensors
func BenchmarkReadHeaderSparse(b *testing.B) {
	root := testenv.RealData(b)
	dir := b.TempDir()
	for _, src := range sparseSources {
		for _, sz := range sparseSizes {
			path := sparseFile(b, dir, filepath.Join(root, "safetensors", src), sz.size)
			b.Run(filepath.Base(src)+"/"+sz.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := ReadHeader(path); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
