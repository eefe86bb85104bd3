package tensorfile

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nlpodyssey/gopickle/pickle"

	"github.com/refcmp/refcmp/internal/tensortest"
	"github.com/refcmp/refcmp/internal/testenv"
)

// Hostile inputs: small files built to crash, hang or exhaust memory.
// Each must fail with an error naming the file (or read right), within
// a time and a memory budget, and never panic.

// pk helps build pickles by hand.
type pk struct{ bytes.Buffer }

func (p *pk) op(s string) *pk { p.WriteString(s); return p }
func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}
func (p *pk) put(i uint32) *pk {
	p.WriteByte('r')
	binary.Write(&p.Buffer, binary.LittleEndian, i)
	return p
}
func (p *pk) get(i uint32) *pk {
	p.WriteByte('j')
	binary.Write(&p.Buffer, binary.LittleEndian, i)
	return p
}

// tensorPickle pushes a legacy _rebuild_tensor_v2 call for a float
// storage "0" of 4 elements, shape (4,).
func (p *pk) tensor() *pk {
	p.op("ctorch._utils\n_rebuild_tensor_v2\n(")
	p.op("(").str("storage").op("ctorch\nFloatStorage\n").str("0").str("cpu").op("K\x04Nt").op("Q")
	return p.op("K\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR")
}

// legacyFile assembles a legacy torch.save file from a protocol-version
// pickle, an object pickle and the storage keys, with storage "0" (4
// floats) when keys holds it.
func legacyFile(proto, obj []byte, keys ...string) []byte {
	var b bytes.Buffer
	b.WriteString("\x80\x02" + legacyMagic + ".")
	b.Write(proto)
	b.WriteString("\x80\x02}.") // sys_info
	b.Write(obj)
	var kp pk
	kp.op("\x80\x02(")
	for _, k := range keys {
		kp.str(k)
	}
	kp.op("l.")
	b.Write(kp.Bytes())
	for range keys {
		binary.Write(&b, binary.LittleEndian, uint64(4))
		b.Write(make([]byte, 16))
	}
	return b.Bytes()
}

var okProto = []byte("\x80\x02M\xe9\x03.")

type hostileCase struct {
	name string
	file []byte
	want string // in the error; "" means the file reads
	// notes expected when the file reads
	note string
}

func hostilePickles() []hostileCase {
	var cases []hostileCase
	add := func(name string, file []byte, want, note string) {
		cases = append(cases, hostileCase{name, file, want, note})
	}
	// A protocol version that contains itself: formatting it with %v
	// (gopickle's List.String) overflowed the stack (28 bytes).
	add("selfref-proto", legacyFile([]byte("\x80\x02]q\x00h\x00a."), []byte("\x80\x02N.")),
		"protocol version a value of type *types.List, want 1001", "")

	// A 40-level DAG of lists in the protocol field: 2^40 when formatted.
	var dag pk
	dag.op("\x80\x02]").put(0)
	for i := uint32(1); i <= 40; i++ {
		dag.op("(").get(i - 1).get(i - 1).op("l").put(i)
	}
	dag.op(".")
	add("dag-proto", legacyFile(dag.Bytes(), []byte("\x80\x02N.")), "protocol version a value of type", "")

	// A 24-level DAG with a tensor at each leaf: 16M tensors when expanded.
	var leaves pk
	leaves.op("\x80\x02").tensor().put(0)
	for i := uint32(1); i <= 24; i++ {
		leaves.op("(").get(i - 1).get(i - 1).op("l").put(i)
	}
	leaves.op(".")
	add("dag-tensors", legacyFile(okProto, leaves.Bytes(), "0"), "",
		"23 containers appear more than once")

	// The same with dicts: exponential names.
	var dicts pk
	dicts.op("\x80\x02}").put(0)
	for i := uint32(1); i <= 40; i++ {
		dicts.op("}(").str("a").get(i - 1).str("b").get(i - 1).op("u").put(i)
	}
	dicts.op(".")
	add("dag-dicts", legacyFile(okProto, dicts.Bytes()), "", "40 containers appear more than once")

	// A cycle in the object.
	add("cycle-object", legacyFile(okProto, []byte("\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.")), "",
		`"a" is the same object as ""`)

	// LONG4 integers: gopickle decodes them in quadratic time.
	var long pk
	long.op("\x80\x02")
	for range 8 {
		long.op("\x8b")
		binary.Write(&long.Buffer, binary.LittleEndian, uint32(200_000))
		long.Write(bytes.Repeat([]byte{0x7f}, 200_000))
		long.op("0")
	}
	long.op("N.")
	add("long4", legacyFile(long.Bytes(), []byte("\x80\x02N.")), "integer of 200000 bytes is over the 1024-byte limit", "")

	// Many LONG1 integers of 255 bytes: each cheap, too many in all.
	var long1 pk
	long1.op("\x80\x02")
	for range 2000 {
		long1.op("\x8a\xff").Write(bytes.Repeat([]byte{0x7f}, 255))
		long1.op("0")
	}
	long1.op("N.")
	add("long1-many", legacyFile(long1.Bytes(), []byte("\x80\x02N.")), "long integers of over", "")

	// MARK bomb: each open MARK costs gopickle a new stack.
	add("mark-bomb", legacyFile([]byte("\x80\x02"+strings.Repeat("(", 200_000)+"N."), nil), "over 1024 nested MARKs", "")

	// Stack bomb.
	add("stack-bomb", legacyFile([]byte("\x80\x02"+strings.Repeat("N", 1<<20+1)+"."), nil), "over 1048576 values on the pickle stack", "")

	// Memo bomb: a million distinct memo indices, then more.
	var memo pk
	memo.op("\x80\x02N")
	for i := uint32(0); i <= 1<<20; i++ {
		memo.put(i * 7)
	}
	memo.op(".")
	add("memo-bomb", legacyFile(memo.Bytes(), nil), "over 1048576 memo entries", "")

	// A storage whose element count times its element size overflows
	// int64: the message said "need 20 bytes".
	var one pk
	one.op("\x80\x02").tensor().op(".")
	huge := legacyFile(okProto, one.Bytes(), "0")
	binary.LittleEndian.PutUint64(huge[len(huge)-16-8:], 1<<62+5)
	add("storage-count-overflow", huge, `storage "0": 4611686018427387909 F32 elements need 18446744073709551636 bytes at offset`, "")

	// A memo entry read before it is stored (gopickle pushes nil).
	add("memo-unset", legacyFile([]byte("\x80\x02h\x05."), nil), "memo entry 5 is read before it is stored", "")

	// BUILD of a memoized 100k-entry dict into an OrderedDict, 1000 times.
	var build pk
	build.op("\x80\x02}").put(0).op("(")
	for i := range 100_000 {
		build.str(strconv.Itoa(i)).op("N")
	}
	build.op("u").op("0ccollections\nOrderedDict\n)R").put(1)
	for range 1000 {
		build.op("0").get(1).get(0).op("b")
	}
	build.op(".")
	add("build-bomb", legacyFile(okProto, build.Bytes()), "BUILD copies over 16777216 dict entries", "")

	// Hashing one long string as a key again and again.
	var hash pk
	hash.op("\x80\x02").str(strings.Repeat("k", 1<<20)).put(0).op("0ccollections\nOrderedDict\n)R(")
	for range 2000 {
		hash.get(0).op("N")
	}
	hash.op("u.")
	add("hash-bomb", legacyFile(okProto, hash.Bytes()), "dict keys and set members of over", "")

	// Stack underflow and an unmatched POP_MARK.
	add("underflow", legacyFile([]byte("\x80\x02a."), nil), "stack underflow", "")
	add("popmark", legacyFile([]byte("\x80\x021N."), nil), "no MARK to pop to", "")
	return cases
}

func TestHostilePickles(t *testing.T) {
	dir := t.TempDir()
	for _, hc := range hostilePickles() {
		t.Run(hc.name, func(t *testing.T) {
			p := filepath.Join(dir, hc.name+".pt")
			if err := os.WriteFile(p, hc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			mem := 64<<20 + 8*uint64(len(hc.file))
			if hc.name == "memo-bomb" {
				mem = 160 << 20 // the model of the memo: a map of 1M entries
			}
			tensortest.Budget(t, 10*time.Second, mem, func() {
				c, err := Open(p, Options{})
				if hc.want != "" {
					if err == nil {
						c.Close()
						t.Fatalf("no error, want %q", hc.want)
					}
					if !strings.Contains(err.Error(), hc.want) || !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), "internal error") {
						t.Fatalf("error %q, want %q naming the file", err, hc.want)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if !strings.Contains(strings.Join(c.Notes, "\n"), hc.note) {
					t.Errorf("notes %q, want %q", c.Notes, hc.note)
				}
				if len(c.Tensors) > 64 {
					t.Errorf("%d tensors", len(c.Tensors))
				}
			})
		})
	}
}

// TestGopickleLongIsQuadratic shows the gap upstream that maxPickleLong
// and maxLongWork close: gopickle v0.3.0 decodes a LONG4 with one big.Int
// shift per byte. When this fails, upstream decodes longs in linear time
// and the two limits can be relaxed.
func TestGopickleLongIsQuadratic(t *testing.T) {
	const n = 128 << 10
	data := bytes.Repeat([]byte{0x7f}, n)
	var p pk
	p.op("\x8b")
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(n))
	p.Write(data)
	p.op(".")
	start := time.Now()
	v, err := pickle.Loads(p.String())
	slow := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	want := new(big.Int).SetBytes(reversed(data)) // little-endian, positive
	linear := time.Since(start)
	if v.(*big.Int).Cmp(want) != 0 {
		t.Fatal("gopickle decoded another number")
	}
	if slow < 50*linear {
		t.Errorf("gopickle took %v for a %d-byte LONG4, a linear decoding %v: upstream is no longer quadratic; relax maxPickleLong and maxLongWork", slow, n, linear)
	}
}

func reversed(b []byte) []byte {
	r := slices.Clone(b)
	slices.Reverse(r)
	return r
}

// zipBomb writes an npz of members names, each the same deflated .npy
// of n zero float32s, compressed once and stored raw.
func zipBomb(t *testing.T, path string, members int, n int64) {
	t.Helper()
	raw := tensortest.Npy(fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", n), make([]byte, 4*n))
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
	fw.Write(raw)
	fw.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for i := range members {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("m%04d.npy", i), Method: zip.Deflate,
			CRC32: crc32.ChecksumIEEE(raw), CompressedSize64: uint64(comp.Len()), UncompressedSize64: uint64(len(raw))})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestNpzHoldsBoundedMemory: deflated members are inflated when read and
// dropped when the container holds over twice MaxMaterialize (a 1.5 MB
// npz held 4.3 GB); a header-only listing inflates only the headers.
func TestNpzHoldsBoundedMemory(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bomb.npz")
	const n = 8 << 20 // 32 MiB per member
	zipBomb(t, p, 12, n)
	base := liveHeap()
	c, err := Open(p, Options{MaxMaterialize: 40 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1<<20)
	var peak uint64
	for _, tn := range c.Tensors {
		for off := int64(0); off < 4*n; off += int64(len(buf)) {
			if _, err := tn.Data.ReadAt(buf, off); err != nil {
				t.Fatal(err)
			}
		}
		peak = max(peak, liveHeap()-min(base, liveHeap()))
	}
	if peak > 2*40<<20+8<<20 {
		t.Errorf("%d tensors of 32 MiB held %d MiB at once, budget 80 MiB", len(c.Tensors), peak>>20)
	}

	q := filepath.Join(dir, "many.npz")
	zipBomb(t, q, 3000, 1<<19) // 2 MiB members: over the 1 MiB header limit
	tensortest.Budget(t, 30*time.Second, 600<<20, func() {
		l, err := List(q)
		if err != nil || len(l.Weights) != 3000 {
			t.Fatalf("%d weights, %v", len(l.Weights), err)
		}
	})
}

// TestBroadcastNotMaterialized: a stride-0 tensor of 2^40 elements over
// a 4-element storage opens and reads without holding its shape's bytes.
func TestBroadcastNotMaterialized(t *testing.T) {
	var obj pk
	obj.op("\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(")
	obj.op("(").str("storage").op("ctorch\nFloatStorage\n").str("0").str("cpu").op("K\x04Nt").op("Q")
	obj.op("K\x00J\x00\x00\x10\x00J\x00\x00\x10\x00K\x04\x87K\x00K\x00K\x01\x87\x89ccollections\nOrderedDict\n)RtR.")
	file := legacyFile(okProto, obj.Bytes(), "0")
	copy(file[len(file)-16:], leF32(1, 2, 3, 4))
	p := filepath.Join(t.TempDir(), "bcast.pt")
	os.WriteFile(p, file, 0o644)
	tensortest.Budget(t, 10*time.Second, 16<<20, func() {
		c, err := Open(p, Options{MaxMaterialize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		tn := c.Tensors[0]
		if tn.Numel() != 1<<42 {
			t.Fatalf("numel %d", tn.Numel())
		}
		const end = 4 << 42
		got := make([]byte, 24)
		for _, off := range []int64{0, 4 << 40, end - 24, end - 10, 10} {
			if _, err := tn.Data.ReadAt(got, off); err != nil && !(err == io.EOF && off > end-24) {
				t.Fatal(off, err)
			}
			want := bytes.Repeat(leF32(1, 2, 3, 4), 3)[off%16:][:min(24, end-off)]
			if !bytes.Equal(got[:len(want)], want) {
				t.Errorf("at %d: % x, want % x", off, got, want)
			}
		}
	})
}

// TestNpzStoredBadCRC: numpy refuses a stored member whose CRC-32 does
// not match; so does reading its data here (a header-only listing reads
// no data and does not check).
func TestNpzStoredBadCRC(t *testing.T) {
	raw := tensortest.Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", leF32(1, 2, 3, 4))
	p := filepath.Join(t.TempDir(), "badcrc.npz")
	f, _ := os.Create(p)
	zw := zip.NewWriter(f)
	w, _ := zw.CreateRaw(&zip.FileHeader{Name: "x.npy", Method: zip.Store, CRC32: crc32.ChecksumIEEE(raw) ^ 1,
		CompressedSize64: uint64(len(raw)), UncompressedSize64: uint64(len(raw))})
	w.Write(raw)
	zw.Close()
	f.Close()
	c, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 16)
	if _, err := c.Tensors[0].Data.ReadAt(buf, 0); err == nil || !strings.Contains(err.Error(), `member "x.npy": CRC-32`) {
		t.Errorf("err %v", err)
	}
	// Out of order: the last bytes first.
	c2, _ := Open(p, Options{})
	defer c2.Close()
	if _, err := c2.Tensors[0].Data.ReadAt(buf[:4], 12); err == nil || !strings.Contains(err.Error(), "CRC-32") {
		t.Errorf("out of order: err %v", err)
	}
}

// npyHeaderCases are .npy header dictionaries with whether numpy loads
// them (checked against numpy by TestNpyHeadersLikeNumpy when it is
// installed).
var npyHeaderCases = []struct {
	dict string
	ok   bool
}{
	{"{'shape': (4,), 'fortran_order': False, 'descr': '<f4'}", true},
	{"{'descr':'<f4','fortran_order':False,'shape':(4,)}", true},
	{"{'fortran_order': False, 'descr': '<f4', 'shape': (4,), }", true},
	{"{'descr':'<f4','fortran_order':False,'shape':(2,2)}", true},
	{`{"descr": "<f4", "shape": (2, 2), "fortran_order": False}`, true},
	{`{"descr": "<f4", "fortran_order": false, "shape": [4]}`, false},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': [4]}", false},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1}", false},
	{"{'descr': '<f4', 'fortran_order': False}", false},
}

func TestNpyHeadersLikeNumpy(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, hc := range npyHeaderCases {
		p := filepath.Join(dir, fmt.Sprintf("h%d.npy", i))
		os.WriteFile(p, tensortest.Npy(hc.dict, leF32(1, 2, 3, 4)), 0o644)
		paths = append(paths, p)
		c, err := Open(p, Options{})
		if (err == nil) != hc.ok {
			t.Errorf("%s: err %v, want ok=%v", hc.dict, err, hc.ok)
		}
		if err == nil {
			if n := c.Tensors[0].Numel(); n != 4 {
				t.Errorf("%s: %d elements", hc.dict, n)
			}
			c.Close()
		}
	}
	py := testenv.Python(t, "numpy")
	out, err := exec.Command(py, append([]string{"-c", `
import sys, numpy as np
for p in sys.argv[1:]:
    try:
        np.load(p); print("ok")
    except Exception:
        print("err")
`}, paths...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range strings.Fields(string(out)) {
		if (v == "ok") != npyHeaderCases[i].ok {
			t.Errorf("%s: numpy says %s, the table says ok=%v", npyHeaderCases[i].dict, v, npyHeaderCases[i].ok)
		}
	}
}

// TestJSONManifestLinear: 400k names in a JSON manifest (112 s when each
// entry's line number was counted from the start).
func TestJSONManifestLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString("[\n")
	for i := range 400_000 {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `"layers.%d.weight"`, i)
	}
	b.WriteString("\n]\n")
	tensortest.Budget(t, 20*time.Second, 1<<30, func() {
		l, err := ParseManifest("m.json", strings.NewReader(b.String()))
		if err != nil || len(l.Weights) != 400_000 {
			t.Fatalf("%d weights, %v", len(l.Weights), err)
		}
	})
	// Line numbers are still right.
	_, err := ParseManifest("m.json", strings.NewReader("[\n\"a\",\n\"b\",\n\"a\"\n]"))
	if err == nil || err.Error() != `m.json:4: "a" is listed twice (first on line 2)` {
		t.Errorf("err %v", err)
	}
}

// FuzzScanPickle runs any pickle through the budgets, gopickle and the
// flattener: no input may panic, hang or build an unbounded result.
func FuzzScanPickle(f *testing.F) {
	f.Add([]byte("\x80\x02]q\x00h\x00a."))
	f.Add([]byte("\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s."))
	var p pk
	f.Add(p.op("\x80\x02").tensor().op(".").Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		tm := time.AfterFunc(10*time.Second, func() { panic("pickle took over 10s") })
		defer tm.Stop()
		sc, err := scanPickle(bufio.NewReader(bytes.NewReader(b)), int64(len(b)))
		if err != nil {
			return
		}
		tr := newTorchReader("x", true)
		v, err := unpickle(sc, tr.find, tr.persistent)
		if err != nil {
			return
		}
		fl := &flattener{}
		fl.walk("", v, 0)
		if len(fl.tensors)+len(fl.skipped) > 2*len(b)+1 {
			t.Fatalf("%d names from a %d-byte pickle", len(fl.tensors)+len(fl.skipped), len(b))
		}
		_ = pyDescribe(v)
	})
}
