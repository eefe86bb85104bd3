package diffing

import (
	"errors"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// panicReader is tensor data whose ReadAt panics past a byte offset, as a
// buggy reader would.
type panicReader struct{ after int64 }

func (r panicReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.after {
		panic("reader bug")
	}
	clear(p)
	return len(p), nil
}

// TestWorkerPanic: a panic in a worker goroutine (here the reader's
// ReadAt) is a *PanicError returned to the caller, at any worker count,
// not a crash of the process (which exits 2, as a bad input does).
func TestWorkerPanic(t *testing.T) {
	const n = 5 * chunkElems
	mk := func(r panicReader) tensor.Tensor {
		return tensor.Tensor{Name: "w", DType: tensor.F32, Shape: []int64{n}, Data: r}
	}
	ok := mk(panicReader{after: 1 << 62})
	bad := mk(panicReader{after: 3 * chunkElems * 4})
	for _, workers := range []int{1, 2, 4} {
		_, err := CompareWith(ok, bad, Tolerance{}, Options{Workers: workers})
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != "reader bug" || !strings.Contains(err.Error(), "internal error (please report it") {
			t.Errorf("%d workers: Compare error %v, want a *PanicError", workers, err)
		}
		_, err = Summarize(bad, SummaryOptions{Workers: workers, Hash: true})
		if !errors.As(err, &pe) {
			t.Errorf("%d workers: Summarize error %v, want a *PanicError", workers, err)
		}
	}
}

// TestCompareAllPanicNamesTensor: CompareAll names the inputs and the
// tensor whose comparison panicked.
func TestCompareAllPanicNamesTensor(t *testing.T) {
	const n = 3 * chunkElems
	ref := Input{Label: "REF", Arg: "ref.safetensors", Path: "ref.safetensors", Tensors: []tensor.Tensor{{Name: "w", DType: tensor.F32, Shape: []int64{n}, Data: panicReader{after: 1 << 62}}}}
	ours := Input{Label: "OURS", Arg: "ours.safetensors", Path: "ours.safetensors", Tensors: []tensor.Tensor{{Name: "w", DType: tensor.F32, Shape: []int64{n}, Data: panicReader{after: chunkElems * 4}}}}
	_, err := CompareAll(ref, ours, CompareAllOptions{})
	var pe *PanicError
	if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), `ref.safetensors vs ours.safetensors: tensor "w": internal error`) {
		t.Errorf("error %v", err)
	}
}
