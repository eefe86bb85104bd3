package golden_test

import (
	"fmt"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/golden"
)

// A golden record keeps a few numbers per tensor; a later run checks
// against it without the full tensors.
func ExampleCheck() {
	summarize := func(name string, vals []float32, samples []int64) golden.Tensor {
		s, _ := golden.Summarize(diffing.SliceTensor(name, vals, nil), samples)
		return s
	}
	vals := []float32{0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5}
	rec := golden.File{Version: golden.Version, Tensors: []golden.Tensor{
		summarize("act", vals, diffing.SamplePositions(int64(len(vals)))),
	}}

	vals[9] = 50 // a regression
	samples := golden.SamplesFor(rec, "act", []int64{10}, false)
	cur := golden.File{Tensors: []golden.Tensor{summarize("act", vals, samples)}}
	rep := golden.Check(rec, cur, golden.CheckOptions{Mode: golden.ModeStats})
	fmt.Println(rep.Pass, *rep.FirstChange)
	fmt.Println(rep.Tensors[0].Summary())
	// Output:
	// false act
	// act: changed: max 5 -> 50 (|diff| 45 > allowed 1.65e-05); mean 2.75 -> 7.25 (|diff| 4.5 > allowed 1.358e-05); std 1.436141 -> 14.30253 (|diff| 12.87 > allowed 1.187e-05); value at [9] 5 -> 50 (|diff| 45 > allowed 1.65e-05)
}
