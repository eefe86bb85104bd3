package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

// exampleModel is the reference checkpoint of README's example: a tiny
// Llama-style decoder (4 layers, hidden size 16, grouped-query attention
// with 8-wide k/v, MLP width 48, vocabulary 64), BF16, in the usual
// Hugging Face names and layer-major order.
func exampleModel() []tensorSpec {
	bf := tensor.BF16
	specs := []tensorSpec{{"model.embed_tokens.weight", bf, []int64{64, 16}}}
	for l := range 4 {
		p := fmt.Sprintf("model.layers.%d.", l)
		specs = append(specs,
			tensorSpec{p + "input_layernorm.weight", bf, []int64{16}},
			tensorSpec{p + "self_attn.q_proj.weight", bf, []int64{16, 16}},
			tensorSpec{p + "self_attn.k_proj.weight", bf, []int64{8, 16}},
			tensorSpec{p + "self_attn.v_proj.weight", bf, []int64{8, 16}},
			tensorSpec{p + "self_attn.o_proj.weight", bf, []int64{16, 16}},
			tensorSpec{p + "post_attention_layernorm.weight", bf, []int64{16}},
			tensorSpec{p + "mlp.gate_proj.weight", bf, []int64{48, 16}},
			tensorSpec{p + "mlp.up_proj.weight", bf, []int64{48, 16}},
			tensorSpec{p + "mlp.down_proj.weight", bf, []int64{16, 48}},
		)
	}
	return append(specs,
		tensorSpec{"model.norm.weight", bf, []int64{16}},
		tensorSpec{"lm_head.weight", bf, []int64{64, 16}},
	)
}

// TestExampleData checks that testdata/example/expected.safetensors is
// what exampleModel describes; -update rewrites it.
func TestExampleData(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeSafetensors(&buf, exampleModel(), map[string]string{"format": "pt"}, "index"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "testdata", "example", "expected.safetensors")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Errorf("%s is stale: run go test ./cmd/refcmp -run TestExampleData -update", path)
	}
}
