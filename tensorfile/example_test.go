package tensorfile_test

import (
	"fmt"

	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile"
)

// Load reads one tensor of any format refcmp reads into memory.
func ExampleLoad() {
	t, err := tensorfile.Load("../testdata/porting/ref_activations.safetensors", "layers.0.self_attn.scores")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Name, t.DType, tensor.FormatShape(t.Shape), t.Numel())
	// Output:
	// layers.0.self_attn.scores F32 [1 4 8 8] 256
}

// List reads only the headers: names, dtypes and shapes, no data.
func ExampleList() {
	l, err := tensorfile.List("../testdata/porting/ref_activations.safetensors")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(l.Weights), "tensors; first:", l.Weights[0].Name, tensor.FormatShape(l.Weights[0].Shape))
	// Output:
	// 18 tensors; first: embed_tokens [1 8 32]
}
