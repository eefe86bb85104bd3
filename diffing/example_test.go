package diffing_test

import (
	"fmt"
	"math"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile"
)

// A port's own test compares what it computed with the reference's dump:
// here the attention scores of the worked example (testdata/porting),
// where a port forgot to scale q·kᵀ by 1/sqrt(head_dim).
func ExampleCompareSlice() {
	ref, err := tensorfile.Load("../testdata/porting/ref_activations.safetensors", "layers.0.self_attn.scores")
	if err != nil {
		fmt.Println(err)
		return
	}
	// What the port computed (a []float32 in its own code; here, the
	// reference values without the 1/sqrt(8) factor).
	vals, _ := diffing.Float64s(ref)
	scores := make([]float32, len(vals))
	for i, v := range vals {
		scores[i] = float32(v * math.Sqrt(8))
	}

	res, err := diffing.CompareSlice(ref, scores, nil, diffing.Tolerance{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// In a test: if !res.Pass { t.Error(res.Summary()) }
	fmt.Println(res.Verdict())
	fmt.Println(res.Tolerance.Text())
	fmt.Println(res.FirstMismatch.Index)
	// Output:
	// FAIL layers.0.self_attn.scores [1 4 8 8] F32: 256 of 256 elements beyond tolerance (100%), max|diff| 1.935
	// allclose: |ours - ref| <= atol + rtol * |ref|, atol 1e-05, rtol 1.3e-06
	// [0 0 0 0]
}

// The hints name the bug: the port's scores are sqrt(8) times the
// reference's.
func ExampleResult_Summary() {
	ref, err := tensorfile.Load("../testdata/porting/ref_activations.safetensors", "layers.0.self_attn.scores")
	if err != nil {
		fmt.Println(err)
		return
	}
	port, err := tensorfile.Load("../testdata/porting/port_activations.safetensors", "layers.0.self_attn.scores")
	if err != nil {
		fmt.Println(err)
		return
	}
	scores, _ := diffing.Float64s(port) // what the port computed
	res, _ := diffing.CompareSlice(ref, scores, nil, diffing.Tolerance{})
	for _, h := range res.Hints {
		if h.Kind == "scaled" {
			fmt.Println(strings.Contains(res.Summary(), "hint: scaled: "), strings.Contains(h.Summary, "sqrt(8)"))
		}
	}
	// Output:
	// true true
}

// Values within the dtype's default tolerance pass; Summary is then one
// line.
func ExampleCompareSlice_pass() {
	ref := diffing.SliceTensor("logits", []float32{0.25, -1.5, 3}, []int64{1, 3})
	ours := []float32{0.25, -1.5, math.Nextafter32(3, 4)} // one ulp off
	res, err := diffing.CompareSlice(ref, ours, nil, diffing.Tolerance{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Summary())
	// Output:
	// PASS logits [1 3] F32: matches within tolerance (max|diff| 2.384e-07)
}

// Explicit tolerances: set Check, then Atol and Rtol are used as given.
func ExampleCompareSlice_tolerance() {
	ref := diffing.SliceTensor("hidden", []float64{1, 2, 3, 4}, nil)
	ours := []float32{1.001, 2, 3, 4} // a float32 port
	res, _ := diffing.CompareSlice(ref, ours, nil, diffing.Tolerance{Check: diffing.CheckAllClose, Atol: 1e-2})
	fmt.Println(res.Pass, res.Tolerance.Text())
	res, _ = diffing.CompareSlice(ref, ours, nil, diffing.Tolerance{})
	fmt.Println(res.Verdict())
	// Output:
	// true allclose: |ours - ref| <= atol + rtol * |ref|, atol 0.01, rtol 0
	// FAIL hidden [4] F64 vs F32: 1 of 4 elements beyond tolerance (25%), max|diff| 0.001
}

// bf16 data held as bits, as Go ports often keep them.
func ExampleHalfTensor() {
	ref := diffing.SliceTensor("w", []float32{1, -2, 0.5}, nil)
	ours, err := diffing.HalfTensor("w", tensor.BF16, []uint16{0x3f80, 0xc000, 0x3f00}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, _ := diffing.CompareTensor(ref, ours, diffing.Tolerance{})
	fmt.Println(res.Summary())
	// Output:
	// PASS w [3] F32 vs BF16: matches exactly
}
