package diffing

import (
	"encoding/binary"
	"math"
	"os"
	"syscall"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// synthF32 is a ReaderAt over n generated F32 elements (no storage):
// element i is a hash of i scaled to [-1, 1), plus delta·(i mod 7).
type synthF32 struct {
	n     int64
	delta float32
}

func (s synthF32) Size() int64 { return 4 * s.n }

func (s synthF32) ReadAt(p []byte, off int64) (int, error) {
	for k := 0; k+4 <= len(p); k += 4 {
		i := (off + int64(k)) / 4
		h := uint32(i) * 2654435761
		v := float32(h)/float32(math.MaxUint32)*2 - 1 + s.delta*float32(i%7)
		binary.LittleEndian.PutUint32(p[k:], math.Float32bits(v))
	}
	return len(p), nil
}

// TestCompareMemoryBounded compares two 2 GiB tensors read through
// ReadAt and checks that peak RSS stays under 256 MB. It takes a while,
// so it runs only with REFCMP_BIGTEST=1:
//
//	REFCMP_BIGTEST=1 go test ./diffing -run MemoryBounded -v
func TestCompareMemoryBounded(t *testing.T) {
	if os.Getenv("REFCMP_BIGTEST") != "1" {
		t.Skip("set REFCMP_BIGTEST=1 to compare two 2 GiB tensors")
	}
	const n = 1 << 29 // 2 GiB of F32 per side
	shape := []int64{1 << 14, 1 << 15}
	ref := tensor.Tensor{Name: "big", DType: tensor.F32, Shape: shape, Data: synthF32{n: n}}
	ours := tensor.Tensor{Name: "big", DType: tensor.F32, Shape: shape, Data: synthF32{n: n, delta: 1e-3}}
	res, err := Compare(ref, ours, DefaultTolerance(tensor.F32, tensor.F32))
	if err != nil {
		t.Fatal(err)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	rss := ru.Maxrss * 1024 // Linux reports KiB
	t.Logf("numel %d, mismatched %d, max|d| %v, hints %d; peak RSS %.1f MB", res.Numel, res.Mismatched, res.MaxAbsDiff, len(res.Hints), float64(rss)/1e6)
	if res.Numel != n || res.Pass {
		t.Errorf("unexpected result: %+v", res)
	}
	if rss > 256<<20 {
		t.Errorf("peak RSS %d MB, want < 256 MB", rss>>20)
	}
}
