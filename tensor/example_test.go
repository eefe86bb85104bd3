package tensor_test

import (
	"fmt"
	"slices"

	"github.com/refcmp/refcmp/tensor"
)

// A tensor's element count has one overflow rule: ok is false when the
// shape is unknown (nil), has a negative dimension, or overflows int64.
func ExampleNumel() {
	n, ok := tensor.Numel([]int64{32, 4096})
	fmt.Println(n, ok, tensor.FormatShape([]int64{32, 4096}))
	_, ok = tensor.Numel([]int64{1 << 40, 1 << 40})
	fmt.Println(ok)
	n, ok = tensor.Numel([]int64{}) // a scalar
	fmt.Println(n, ok)
	// Output:
	// 131072 true [32 4096]
	// false
	// 1 true
}

// Natural order reads layer indices as numbers.
func ExampleNaturalCompare() {
	names := []string{"layers.10.mlp", "layers.2.mlp", "embed", "layers.1.mlp"}
	slices.SortFunc(names, tensor.NaturalCompare)
	fmt.Println(names)
	// Output:
	// [embed layers.1.mlp layers.2.mlp layers.10.mlp]
}
