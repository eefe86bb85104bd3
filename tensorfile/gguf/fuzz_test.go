package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// FuzzRead feeds the header reader arbitrary bytes. Seeds: the first 16 KiB
// of the real GGUF files in ../shared/realdata/gguf when present (the whole
// of stories260K's header; whole 700 KB files slow the fuzzer to a few
// executions a second), the synthetic variants
// (v2, big-endian, n_dims 0, unknown type, cut off) and testdata/fuzz.
// No input may panic, and what is read must be self-consistent.
func FuzzRead(f *testing.F) {
	if dir, ok := testenv.FindRealData(); ok {
		for _, pat := range []string{"gguf/*.gguf", "gguf/malformed/*.gguf"} {
			paths, _ := filepath.Glob(filepath.Join(dir, pat))
			for _, p := range paths {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b[:min(len(b), 16<<10)])
				}
			}
		}
	}
	for _, o := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, v := range []uint32{2, 3} {
			f.Add(build(o, v, synthKVs(), synthTensors(), 32, false))
			f.Add(build(o, v, synthKVs(), synthTensors(), 32, true))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		bud := DefaultBudget()
		bud.MaxHeader = 1 << 20
		g, err := Read(bytes.NewReader(b), int64(len(b)), "fuzz.gguf", bud)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not ErrFormat: %v", err)
			}
			return
		}
		if g.DataOffset > int64(len(b))+g.Alignment || g.Alignment <= 0 {
			t.Fatalf("data offset %d, alignment %d, size %d", g.DataOffset, g.Alignment, len(b))
		}
		for _, ti := range g.Tensors {
			s := ti.Shape()
			n := int64(1)
			for i, d := range ti.Dims {
				if s[len(s)-1-i] != d {
					t.Fatalf("shape %v not dims %v reversed", s, ti.Dims)
				}
				n *= d
			}
			if n != ti.Elements || (ti.Type.Known() != (ti.Bytes >= 0)) {
				t.Fatalf("tensor %q: %+v", ti.Name, ti)
			}
		}
	})
}
