package tensorfile

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/tensortest"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

func TestRaw(t *testing.T) {
	dir := t.TempDir()
	data := leF32(0, 1, 2, 3, 4, 5)

	// Defaults: F32, 1-D.
	p := testenv.WriteFile(t, dir, "plain.bin", data)
	c := openT(t, p)
	if c.Format != FormatRaw || !c.Single || c.Tensors[0].Name != "plain.bin" || !slices.Equal(c.Tensors[0].Shape, []int64{6}) || c.Tensors[0].DType != tensor.F32 {
		t.Fatalf("defaults: %+v", c)
	}

	// Options.
	c = openT2(t, p, Options{Shape: []int64{2, 3}})
	if !slices.Equal(c.Tensors[0].Shape, []int64{2, 3}) || !bytes.Equal(readAll(t, c.Tensors[0]), data) {
		t.Errorf("shape option: %v", c.Tensors[0].Shape)
	}
	c = openT2(t, p, Options{DType: tensor.BF16})
	if !slices.Equal(c.Tensors[0].Shape, []int64{12}) {
		t.Errorf("dtype option: %v", c.Tensors[0].Shape)
	}

	// Sidecars: x.json, or x.bin.json which wins.
	p = testenv.WriteFile(t, dir, "x.bin", data)
	testenv.WriteFile(t, dir, "x.json", []byte(`{"dtype": "float32", "shape": [3, 2]}`))
	if c := openT(t, p); !slices.Equal(c.Tensors[0].Shape, []int64{3, 2}) {
		t.Errorf("x.json: %v", c.Tensors[0].Shape)
	}
	testenv.WriteFile(t, dir, "x.bin.json", []byte(`{"dtype": "I32", "shape": [1, 6], "comment": "ignored"}`))
	if c := openT(t, p); !slices.Equal(c.Tensors[0].Shape, []int64{1, 6}) || c.Tensors[0].DType != tensor.I32 {
		t.Errorf("x.bin.json: %v %s", c.Tensors[0].Shape, c.Tensors[0].DType)
	}
	// Options win over the sidecar.
	if c := openT2(t, p, Options{Shape: []int64{6}}); !slices.Equal(c.Tensors[0].Shape, []int64{6}) || c.Tensors[0].DType != tensor.I32 {
		t.Errorf("options over sidecar: %v", c.Tensors[0].Shape)
	}
	// List reads the sidecar.
	if l, err := List(p); err != nil || len(l.Weights) != 1 || l.Weights[0].DType != tensor.I32 {
		t.Errorf("List: %v %v", l, err)
	}

	// Fortran order and big-endian from the sidecar.
	p = testenv.WriteFile(t, dir, "f.bin", beF64(0, 3, 1, 4, 2, 5))
	testenv.WriteFile(t, dir, "f.json", []byte(`{"dtype": "f64", "shape": [2, 3], "order": "F", "byteorder": "big"}`))
	if got := f64s(readAll(t, openT(t, p).Tensors[0])); !slices.Equal(got, []float64{0, 1, 2, 3, 4, 5}) {
		t.Errorf("F order big-endian: %v", got)
	}

	// Scalars.
	p = testenv.WriteFile(t, dir, "s.bin", leF32(7))
	testenv.WriteFile(t, dir, "s.json", []byte(`{"dtype": "f32", "shape": []}`))
	if c := openT(t, p); c.Tensors[0].Shape == nil || len(c.Tensors[0].Shape) != 0 {
		t.Errorf("scalar: %v", c.Tensors[0].Shape)
	}
}

func openT2(t *testing.T, path string, o Options) *Container {
	t.Helper()
	c, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRawErrors(t *testing.T) {
	dir := t.TempDir()
	p := testenv.WriteFile(t, dir, "x.bin", make([]byte, 60))
	_, err := Open(p, Options{Shape: []int64{4, 4}})
	if err == nil || err.Error() != p+": shape [4 4] F32 needs 64 bytes, file has 60" {
		t.Errorf("size: %v", err)
	}
	_, err = Open(testenv.WriteFile(t, dir, "odd.bin", make([]byte, 7)), Options{})
	if err == nil || !strings.Contains(err.Error(), "7 bytes, not a multiple of the F32 element size 4") {
		t.Errorf("odd: %v", err)
	}
	_, err = Open(p, Options{Shape: []int64{1 << 62, 1 << 62}})
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("huge: %v", err)
	}
	for side, want := range map[string]string{
		`{"dtype": "f32", "shape": [4, 4]}`:   "shape [4 4] F32 needs 64 bytes, file has 60",
		`{"dtype": "f32", "shape": "4x4"}`:    "sidecar is not",
		`{"dtype": "quux"}`:                   `unknown dtype "quux"`,
		`not json`:                            "sidecar is not",
		`{"shape": [15], "order": "K"}`:       `order "K"`,
		`{"shape": [15], "byteorder": "mid"}`: `byteorder "mid"`,
		`{"shape": [-15]}`:                    "negative dimension",
	} {
		sc := testenv.WriteFile(t, dir, "x.json", []byte(side))
		_, err := Open(p, Options{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), sc) {
			t.Errorf("sidecar %s: err %v, want %q and the sidecar's path", side, err, want)
		}
	}
	// An unrecognised file with no raw extension is not guessed at.
	q := testenv.WriteFile(t, dir, "notes.txt", []byte("hello"))
	if _, err := Open(q, Options{}); err == nil || !strings.Contains(err.Error(), "not a recognised tensor file") {
		t.Errorf("txt: %v", err)
	}
	// ...unless a dtype or shape is given.
	if _, err := Open(q, Options{DType: tensor.U8}); err != nil {
		t.Errorf("txt as U8: %v", err)
	}
}

func TestSwapReaderAt(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, es := range []int{2, 4, 8} {
		src := make([]byte, es*1000)
		for i := range src {
			src[i] = byte(rng.IntN(256))
		}
		want := slices.Clone(src)
		swapInPlace(want, es)
		r := newSwapReaderAt(bytes.NewReader(src), es, int64(len(src)))
		for range 500 {
			off := rng.IntN(len(src) + 3)
			n := rng.IntN(len(src) / 3)
			p := make([]byte, n)
			got, err := r.ReadAt(p, int64(off))
			wantN := max(0, min(n, len(src)-off))
			if got != wantN || !bytes.Equal(p[:got], want[min(off, len(src)):min(off, len(src))+wantN]) {
				t.Fatalf("es %d: ReadAt(%d bytes, %d) = %d, %v", es, n, off, got, err)
			}
			if got < n && err == nil {
				t.Fatalf("short read without error")
			}
		}
	}
}

func TestGather(t *testing.T) {
	// A 3x4 int8 storage read as its transpose, with an offset, and
	// broadcast (stride 0).
	st := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	r := bytes.NewReader(st)
	got, err := gather(r, 13, 1, []int64{4, 3}, []int64{1, 4}, 1, 1<<20)
	if err != nil || !bytes.Equal(got, []byte{1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12}) {
		t.Errorf("transpose: %v %v", got, err)
	}
	got, err = gather(r, 13, 1, []int64{2, 3}, []int64{0, 1}, 10, 1<<20)
	if err != nil || !bytes.Equal(got, []byte{10, 11, 12, 10, 11, 12}) {
		t.Errorf("broadcast: %v %v", got, err)
	}
	if _, err := gather(r, 13, 1, []int64{4, 3}, []int64{1, 4}, 2, 1<<20); err == nil {
		t.Error("out of bounds accepted")
	}
	if _, err := gather(r, 13, 1, []int64{2, 2}, []int64{-1, 1}, 5, 1<<20); err == nil {
		t.Error("negative stride accepted")
	}
	if _, err := gather(r, 13, 1, []int64{1 << 40, 1 << 40}, []int64{1 << 40, 1}, 0, 1<<62); err == nil {
		t.Error("overflow accepted")
	}
}

func TestConcurrentReads(t *testing.T) {
	// A Fortran-order big-endian array is gathered once, on first read,
	// however many goroutines read it.
	vals := make([]float64, 64*32)
	for i := range vals {
		vals[i] = float64(i)
	}
	p := testenv.WriteFile(t, t.TempDir(), "f.npy", tensortest.Npy("{'descr': '>f8', 'fortran_order': True, 'shape': (32, 64), }", beF64(vals...)))
	tn := single(t, p)
	want := readAll(t, tn)
	done := make(chan []byte)
	for range 8 {
		go func() {
			b := make([]byte, len(want))
			tn.Data.ReadAt(b, 0)
			done <- b
		}()
	}
	for range 8 {
		if !bytes.Equal(<-done, want) {
			t.Fatal("concurrent read differs")
		}
	}
}

func BenchmarkSwapReaderAt(b *testing.B) {
	src := make([]byte, 64<<20)
	r := newSwapReaderAt(bytes.NewReader(src), 4, int64(len(src)))
	buf := make([]byte, 4<<20)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		for off := int64(0); off < int64(len(src)); off += int64(len(buf)) {
			r.ReadAt(buf, off)
		}
	}
}
