package diffing

import (
	"reflect"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// TestPictureFromDiagnosis: the picture the diagnosis pass gathers is the
// one Pictures' own pass gives, also when the probe samples chunks (the
// pictures read every chunk), and gathering it changes no hint.
func TestPictureFromDiagnosis(t *testing.T) {
	shape := []int64{6, 64, 1024} // 6 chunks
	n := 6 * 64 * 1024
	r := randVals(11, n)
	o := mapVals(r, func(i int, x float64) float64 {
		if i/1024%64 == 5 && i%1024 > 900 { // one patch per batch
			return x + 0.5
		}
		return x
	})
	ref := mkTensor(t, "r", tensor.F32, shape, r)
	ours := mkTensor(t, "o", tensor.F32, shape, o)
	tol := DefaultTolerance(tensor.F32, tensor.F32)
	plain, err := CompareWith(ref, ours, tol, Options{Workers: 2})
	if err != nil || plain.Pass {
		t.Fatal(err, plain.Pass)
	}
	for _, workers := range []int{1, 3} {
		res, err := CompareWith(ref, ours, tol, Options{Workers: workers, Pictures: true})
		if err != nil || res.Picture == nil {
			t.Fatal(err, res.Picture)
		}
		want, err := Pictures(ref, ours, res, PictureOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*res.Picture, want) {
			t.Fatalf("workers %d: picture from the diagnosis differs from Pictures'", workers)
		}
		if !reflect.DeepEqual(res.Hints, plain.Hints) || !reflect.DeepEqual(res.Histogram, plain.Histogram) {
			t.Fatalf("workers %d: hints differ with pictures:\n%v\n%v", workers, res.Hints, plain.Hints)
		}
	}
	// Sampled probe (2 of 6 chunks): the axis sums are those of the pass
	// without pictures, the picture covers every element.
	res := plain
	atol, rtol := elementTol(&res)
	run := func(all []chunkVisitor) *axisStats {
		ax := newAxisStats(shape, atol, rtol)
		ax.finite = true
		pr, err := runProbe(ref, ours, &res, nil, nil, []chunkVisitor{ax}, all, 2, 2)
		if err != nil || pr.elems != 2*chunkElems {
			t.Fatal(err, pr.elems)
		}
		ax.flush()
		return ax
	}
	pv := newPictureVisitor(ref, ours, &res)
	a, b := run(nil), run([]chunkVisitor{pv})
	if !reflect.DeepEqual(a.ax, b.ax) || !reflect.DeepEqual(a.band, b.band) || a.border != b.border {
		t.Fatal("axis sums differ when the pictures ride along")
	}
	if got := pv.picture("r"); got.Elems != int64(n) || got.Mismatched != plain.Mismatched {
		t.Fatalf("picture covers %d elements, %d mismatched; want %d, %d", got.Elems, got.Mismatched, n, plain.Mismatched)
	}
}
