package names_test

import (
	"fmt"

	"github.com/refcmp/refcmp/diffing/names"
)

// A port drops the "model." prefix; --map puts it back.
func ExampleNameRules_Map() {
	rules, err := names.ParseNameRules([]string{`^=model.`}, []string{"*.inv_freq"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rules.Map("layers.0.mlp.up_proj.weight"))
	fmt.Println(rules.Map("layers.0.rotary.inv_freq"))
	// Output:
	// model.layers.0.mlp.up_proj.weight false
	// model.layers.0.rotary.inv_freq true
}

func ExampleFoldPatterns() {
	fmt.Println(names.FoldPatterns([]string{"layers.0.w", "layers.1.w", "layers.2.w", "norm"}))
	// Output:
	// [layers.{0..2}.w norm]
}
