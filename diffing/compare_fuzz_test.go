package diffing

import (
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// FuzzCompare feeds arbitrary bytes, dtypes and shapes to Compare (with
// its diagnosis): it may return an error but must never panic.
func FuzzCompare(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64}, []byte{1, 0, 0, 0, 0, 0, 0x80, 0x7f, 0, 0, 0xc0, 0x7f, 1, 2, 3, 4}, uint8(14), uint8(14), uint8(2), uint8(2), false)
	f.Add([]byte{0x7f, 0xff, 1, 2}, []byte{0x7e, 0xff, 1, 3}, uint8(10), uint8(11), uint8(2), uint8(2), true)
	f.Add([]byte{1, 2, 3, 4, 5, 6}, []byte{6, 5, 4, 3, 2, 1}, uint8(3), uint8(3), uint8(2), uint8(3), false)
	f.Fuzz(func(t *testing.T, a, b []byte, rdt, odt, d0, d1 uint8, exact bool) {
		ref := tensor.Tensor{Name: "r", DType: tensor.DType(rdt % 17), Shape: []int64{int64(d0 % 9), int64(d1 % 9)}, Data: tensor.MemData(a)}
		ours := tensor.Tensor{Name: "o", DType: tensor.DType(odt % 17), Shape: []int64{int64(d1 % 9), int64(d0 % 9)}, Data: tensor.MemData(b)}
		if d0%3 == 0 {
			ours.Shape = ref.Shape
		}
		tol := DefaultTolerance(ref.DType, ours.DType)
		tol.Exact = exact
		tol.EqualNaN = d1%2 == 0
		res, err := Compare(ref, ours, tol)
		if err == nil && res.Numel < 0 {
			t.Fatalf("negative numel")
		}
		_ = AnalyzeSequence([]Result{res, res})
	})
}
