package tensorfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/refcmp/refcmp/internal/tensortest"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

// Fuzz targets for the readers of untrusted files. Seeds are the real
// files under ../shared/realdata (read at test time, never copied into the
// repository) plus small synthetic ones. Run with e.g.
//
//	go test ./tensorfile -run '^$' -fuzz FuzzOpenPyTorch -fuzztime 20s

// realSeeds returns the real files under the given realdata folder whose
// names end in one of exts, or nothing when the corpus is absent.
func realSeeds(tb testing.TB, dir string, exts ...string) [][]byte {
	realdata, ok := testenv.FindRealData()
	if !ok {
		return nil
	}
	var out [][]byte
	base := filepath.Join(realdata, dir)
	filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		for _, e := range exts {
			if strings.HasSuffix(p, e) {
				if b, err := os.ReadFile(p); err == nil && len(b) <= 64<<10 {
					out = append(out, b)
				}
			}
		}
		return nil
	})
	return out
}

// exercise opens path, reads every tensor's data and lists it. Errors are
// fine if they name the file; panics are not (Open and List turn a panic
// into an "internal error", which fails here too).
func exercise(t *testing.T, path string, opts Options) {
	// A hang is a failure too: the fuzzer reports this panic as a crasher.
	tm := time.AfterFunc(10*time.Second, func() { panic("tensorfile: input took over 10s: " + path) })
	defer tm.Stop()
	opts.MaxMaterialize = 1 << 20
	c, err := Open(path, opts)
	if err != nil {
		if !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "internal error") {
			t.Fatalf("bad error: %v", err)
		}
	} else {
		for _, tn := range c.Tensors {
			n := tn.Numel() * int64(tn.DType.Size())
			if n < 0 || n > 64<<20 {
				t.Fatalf("tensor %q: %d bytes from a small file", tn.Name, n)
			}
			buf := make([]byte, n)
			if tn.Data != nil {
				tn.Data.ReadAt(buf, 0)
				tn.Data.ReadAt(buf[:min(n, 3)], n/2)
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := List(path); err != nil && strings.Contains(err.Error(), "internal error") {
		t.Fatalf("List: %v", err)
	}
}

func FuzzOpenNpy(f *testing.F) {
	for _, b := range realSeeds(f, "numpy", ".npy") {
		f.Add(b)
	}
	f.Add(tensortest.Npy("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3)}", beF64(0, 3, 1, 4, 2, 5)))
	f.Add(tensortest.Npy("{'descr': '<f2', 'fortran_order': False, 'shape': (), }", []byte{0, 0x3c}))
	f.Add(tensortest.Npy("{'descr': '<u4', 'fortran_order': True, 'shape': (0, 3), }", nil))
	p := filepath.Join(f.TempDir(), "x.npy")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		exercise(t, p, Options{})
	})
}

func FuzzOpenRaw(f *testing.F) {
	f.Add(leF32(1, 2, 3, 4), `{"dtype": "f32", "shape": [2, 2]}`, uint8(0), int64(0))
	f.Add(beF64(1, 2, 3, 4, 5, 6), `{"dtype": "f64", "shape": [2, 3], "order": "F", "byteorder": "big"}`, uint8(0), int64(0))
	f.Add(make([]byte, 6), `{"dtype": "bf16", "shape": []}`, uint8(0), int64(0))
	f.Add(make([]byte, 8), ``, uint8(tensor.F16), int64(4))
	f.Add(make([]byte, 7), `{"shape": [7], "dtype": "u8"}`, uint8(tensor.I64), int64(-1))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, sidecar string, dtype uint8, dim int64) {
		p := filepath.Join(dir, "x.bin")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sc := filepath.Join(dir, "x.json")
		os.Remove(sc)
		if sidecar != "" {
			if err := os.WriteFile(sc, []byte(sidecar), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		opts := Options{DType: tensor.DType(dtype % 16)}
		if dim != 0 {
			opts.Shape = []int64{dim, 1}
		}
		exercise(t, p, opts)
	})
}

func FuzzOpenPyTorch(f *testing.F) {
	for _, b := range realSeeds(f, "pytorch", ".pt", ".pth") {
		f.Add(b)
	}
	for _, b := range realSeeds(f, "numpy", ".npz") {
		f.Add(b)
	}
	f.Add([]byte(legacyMagicText + ".\x80\x02M\xe9\x03."))
	for _, hc := range hostilePickles() {
		if len(hc.file) <= 64<<10 {
			f.Add(hc.file)
		}
	}
	p := filepath.Join(f.TempDir(), "x.pt")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		exercise(t, p, Options{})
	})
}

// FuzzParseOrder: an order list (refcmp.order metadata, --order file) is
// a JSON list of names or one name a line; any text parses or fails
// cleanly, with at most one name per input byte (plus one).
func FuzzParseOrder(f *testing.F) {
	for _, s := range []string{`["a","b"]`, "a\nb\n\n c \n", `[`, `["a",1]`, `[[["a"]]]`, "\x00\n\xff", `"a"`, `["\u0000"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, err := ParseOrder(s)
		if err == nil && len(names) > len(s)+1 {
			t.Fatalf("%d names from %d bytes", len(names), len(s))
		}
	})
}
