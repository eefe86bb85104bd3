package diffing

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refcmp/refcmp/tensor"
)

// TestDiagnoseLongAxisMemory diagnoses failing pairs with an axis of 16M
// elements, read through ReadAt from generated data (synthF32: nothing is
// stored), and checks the peak heap: per-index sums over that axis would
// take about 900 MB per fork, the capped reductions a few MB.
func TestDiagnoseLongAxisMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("diagnoses two 64 MB pairs")
	}
	const n = 1 << 24
	for _, shape := range [][]int64{{n}, {1, n}, {n / 4, 4}} {
		ref := tensor.Tensor{Name: "long", DType: tensor.F32, Shape: shape, Data: synthF32{n: n}}
		ours := tensor.Tensor{Name: "long", DType: tensor.F32, Shape: shape, Data: synthF32{n: n, delta: 1e-3}}
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		peak, stop := watchHeap()
		res, err := CompareWith(ref, ours, DefaultTolerance(tensor.F32, tensor.F32), Options{Workers: 2})
		stop()
		if err != nil {
			t.Fatal(err)
		}
		grown := int64(*peak) - int64(base.HeapInuse)
		t.Logf("%v: hints %v; heap in use grew by %.1f MB at most", shape, hintKinds(res.Hints), float64(grown)/1e6)
		if res.Pass || len(res.Hints) == 0 {
			t.Fatalf("%v: want a diagnosed failing pair, got pass %v, hints %v", shape, res.Pass, res.Hints)
		}
		if grown > 192<<20 {
			t.Errorf("%v: heap in use grew by %d MB, want < 192 MB", shape, grown>>20)
		}
		if !slicesContainsSub(res.Notes, "skip axes longer than 65536: axis ") {
			t.Errorf("%v: no note on the skipped axis in %q", shape, res.Notes)
		}
	}
}

// watchHeap samples HeapInuse every millisecond until stop is called;
// *peak is the largest sample.
func watchHeap() (peak *uint64, stop func()) {
	peak = new(uint64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return peak, func() { close(done); wg.Wait() }
}

func slicesContainsSub(ss []string, sub string) bool {
	for _, s := range ss {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
