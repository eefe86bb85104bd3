package weights_test

import (
	"fmt"

	"github.com/refcmp/refcmp/diffing/weights"
	"github.com/refcmp/refcmp/tensor"
)

// The port loads every weight without the "model." prefix: Diff finds
// them missing and unexpected, and a prefix hint with the verified fix.
func ExampleDiff() {
	info := func(name string) tensor.Info {
		return tensor.Info{Name: name, DType: tensor.F32, Shape: []int64{4, 4}}
	}
	ref := tensor.Listing{Source: "model.safetensors", Weights: []tensor.Info{info("model.embed.weight"), info("model.norm.weight")}}
	port := tensor.Listing{Source: "loaded.txt", Weights: []tensor.Info{info("embed.weight"), info("norm.weight")}}
	rep := weights.Diff(ref, port, weights.Options{})
	fmt.Println(rep.Pass, rep.Counts.Missing, rep.Counts.Unexpected)
	fmt.Println(rep.Fix)
	// Output:
	// false 2 2
	// --map '^=model.'
}
