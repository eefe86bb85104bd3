package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/ggufwrite"
)

// TestGGUFExpertMissingFromStack: a header-only mixtral GGUF whose
// layer 1 stacks 3 of the 4 experts the HF side has. 'refcmp weights
// --preset mixtral' says so by count and marks which expert is guessed
// by position; the full layer 0 draws no such note.
func TestGGUFExpertMissingFromStack(t *testing.T) {
	const hidden, ff, experts = 8, 4, 4
	dir := t.TempDir()
	var ts []ggufwrite.Tensor
	hf := map[string]any{}
	for layer := 0; layer < 2; layer++ {
		n := uint64(experts)
		if layer == 1 {
			n = experts - 1
		}
		for _, s := range []struct{ gguf, hf string }{{"ffn_gate_exps", "w1"}, {"ffn_up_exps", "w3"}, {"ffn_down_exps", "w2"}} {
			dims, shape := []uint64{hidden, ff, n}, []int64{ff, hidden}
			if s.hf == "w2" {
				dims, shape = []uint64{ff, hidden, n}, []int64{hidden, ff}
			}
			ts = append(ts, ggufwrite.Tensor{Name: fmt.Sprintf("blk.%d.%s.weight", layer, s.gguf), Dims: dims, Type: 0})
			for e := 0; e < experts; e++ {
				hf[fmt.Sprintf("model.layers.%d.block_sparse_moe.experts.%d.%s.weight", layer, e, s.hf)] = shape
			}
		}
	}
	b, err := ggufwrite.Encode([]ggufwrite.KV{{Key: "general.architecture", Value: "llama"}, {Key: "llama.expert_count", Value: uint32(experts)}}, ts)
	if err != nil {
		t.Fatal(err)
	}
	gg := filepath.Join(dir, "model.gguf")
	js, err := json.Marshal(hf)
	if err != nil {
		t.Fatal(err)
	}
	man := filepath.Join(dir, "hf.json")
	if err := os.WriteFile(gg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(man, js, 0o644); err != nil {
		t.Fatal(err)
	}
	out := refcmpRun(t, exitDiff, "weights", man, gg, "--preset", "mixtral")
	wantIn(t, out, "3 missing",
		"the stack of layer 1 holds 3 of 4 experts: one expert is missing (the HF experts cannot all be matched; by position, expert 3 is the one not in the stack) [blk.1.ffn_gate_exps.weight, blk.1.ffn_up_exps.weight, blk.1.ffn_down_exps.weight]",
		"model.layers.1.block_sparse_moe.experts.3.w1.weight")
	if strings.Contains(out, "stack of layer 0") {
		t.Errorf("full layer 0 reported short:\n%s", out)
	}
}
