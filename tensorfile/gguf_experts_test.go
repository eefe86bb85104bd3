package tensorfile

import (
	"slices"
	"testing"

	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// TestExpertGapsNamesExpertHFLacks: a stack of 4 where HF names experts
// 0, 1 and 3 names expert 2 exactly; a full stack gives no note.
func TestExpertGapsNamesExpertHFLacks(t *testing.T) {
	p, err := gguf.BuiltinPreset("mixtral")
	if err != nil {
		t.Fatal(err)
	}
	l := tensor.Listing{Weights: []tensor.Info{
		{Name: "blk.0.ffn_up_exps.weight", Shape: []int64{4, 2, 8}},
		{Name: "blk.1.ffn_up_exps.weight", Shape: []int64{4, 2, 8}},
	}}
	hf := []string{"model.layers.0.block_sparse_moe.experts.0.w3.weight", "model.layers.0.block_sparse_moe.experts.1.w3.weight", "model.layers.0.block_sparse_moe.experts.3.w3.weight"}
	for e := range 4 {
		hf = append(hf, "model.layers.1.block_sparse_moe.experts."+string(rune('0'+e))+".w3.weight")
	}
	got := ExpertGaps(l, p, hf)
	want := []string{"blk.0.ffn_up_exps.weight holds expert 2 of layer 0, which the HF side lacks"}
	if !slices.Equal(got, want) {
		t.Errorf("ExpertGaps = %q, want %q", got, want)
	}
}
