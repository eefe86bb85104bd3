// Package tensortest holds what the tests of several refcmp packages
// share: tensor data that hides its bytes, seeded random values and .npy
// files built by hand. It imports nothing of refcmp, so any package's
// tests can use it.
package tensortest

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// ReaderOnly returns r with only its ReadAt: it hides the Bytes of
// in-memory data (tensor.ByteSource), so the code under test takes its
// reading path.
func ReaderOnly(r io.ReaderAt) io.ReaderAt { return readerOnly{r} }

type readerOnly struct{ r io.ReaderAt }

func (r readerOnly) ReadAt(p []byte, off int64) (int, error) { return r.r.ReadAt(p, off) }

// RandF32 returns n normally distributed values (mean 0.5, std 3); the
// same n and seed give the same values.
func RandF32(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64()*3 + 0.5)
	}
	return out
}

// Npy builds a .npy file: version 1.0, the header dictionary dict
// (padded as numpy pads it, to a multiple of 64 bytes) and data.
func Npy(dict string, data []byte) []byte {
	h := dict
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

// Budget runs f and fails the test when it takes longer than d or
// allocates more than maxAlloc bytes in all (an upper bound on its peak).
// The hostile-input tests use it; keep d generous: CI may be a loaded
// 2-core machine.
func Budget(t testing.TB, d time.Duration, maxAlloc uint64, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("%v, %d MB allocated", el, got>>20)
	if el > d {
		t.Errorf("took %v, budget %v", el, d)
	}
	if got > maxAlloc {
		t.Errorf("allocated %d MB, budget %d MB", got>>20, maxAlloc>>20)
	}
}
