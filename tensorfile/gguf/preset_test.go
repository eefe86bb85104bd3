package gguf

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

func TestBuiltinPresetsParse(t *testing.T) {
	want := []string{"gemma", "gemma2", "gemma3", "llama", "mistral", "mixtral", "phi3", "qwen2"}
	if got := PresetNames(); !reflect.DeepEqual(got, want) {
		t.Fatalf("presets %v, want %v", got, want)
	}
	for _, n := range want {
		p, err := BuiltinPreset(n)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != n || len(p.Arch) != 1 || p.OneDim != "f32" || len(p.Rules) < 9 {
			t.Errorf("%s: %+v", n, p)
		}
	}
	if _, err := BuiltinPreset("gpt9"); err == nil || !strings.Contains(err.Error(), "llama") {
		t.Errorf("unknown preset: %v", err)
	}
}

// TestPresetStories260K: every tensor of stories260K maps to an HF name
// with the llama preset and back to itself.
func TestPresetStories260K(t *testing.T) {
	f, err := Open(filepath.Join(testenv.RealData(t), "gguf", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := BuiltinPreset("llama")
	for _, ti := range f.Tensors {
		hf, ok := p.ToHF(ti.Name)
		if !ok {
			t.Errorf("%s: no HF name", ti.Name)
			continue
		}
		back, ok := p.ToGGUF(hf.Name)
		if !ok || back.Name != ti.Name {
			t.Errorf("%s -> %s -> %v", ti.Name, hf.Name, back.Name)
		}
	}
	q, _ := p.ToHF("blk.4.attn_q.weight")
	k, _ := p.ToHF("blk.4.attn_k.weight")
	if q.Name != "model.layers.4.self_attn.q_proj.weight" || q.Rule.Permute != "n_head" || k.Rule.Permute != "n_head_kv" || q.Layer != 4 {
		t.Errorf("q %+v k %+v", q, k)
	}
}

// layout is an HF checkpoint's names per layer for each architecture, as
// the real models have them (transformers' modeling_*.py).
func layout(arch string, layers, experts int) []string {
	var names []string
	top := []string{"model.embed_tokens.weight", "model.norm.weight"}
	per := []string{"input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
		"self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight"}
	mlp := []string{"mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"}
	switch arch {
	case "llama", "mistral":
		top = append(top, "lm_head.weight")
		per = append(per, mlp...)
	case "mixtral":
		top = append(top, "lm_head.weight")
		per = append(per, "block_sparse_moe.gate.weight")
		for e := 0; e < experts; e++ {
			for _, w := range []string{"w1", "w2", "w3"} {
				per = append(per, "block_sparse_moe.experts."+strconv.Itoa(e)+"."+w+".weight")
			}
		}
	case "qwen2":
		per = append(per, "self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias")
		per = append(per, mlp...)
	case "gemma":
		per = append(per, mlp...)
	case "gemma2", "gemma3":
		per = append(per, "pre_feedforward_layernorm.weight", "post_feedforward_layernorm.weight")
		if arch == "gemma3" {
			per = append(per, "self_attn.q_norm.weight", "self_attn.k_norm.weight")
		}
		per = append(per, mlp...)
	case "phi3":
		top = append(top, "lm_head.weight")
		per = []string{"input_layernorm.weight", "self_attn.qkv_proj.weight", "self_attn.o_proj.weight",
			"post_attention_layernorm.weight", "mlp.gate_up_proj.weight", "mlp.down_proj.weight"}
	}
	names = append(names, top...)
	for l := 0; l < layers; l++ {
		for _, s := range per {
			names = append(names, "model.layers."+strconv.Itoa(l)+"."+s)
		}
	}
	return names
}

func TestPresetsRoundTrip(t *testing.T) {
	for _, n := range PresetNames() {
		p, _ := BuiltinPreset(n)
		for _, hf := range layout(n, 3, 4) {
			g, ok := p.ToGGUF(hf)
			if !ok {
				t.Errorf("%s: %s has no GGUF name", n, hf)
				continue
			}
			back, ok := p.ToHF(g.Name)
			if !ok || fill(back.Name, -1, g.Expert) != hf {
				t.Errorf("%s: %s -> %s -> %s", n, hf, g.Name, back.Name)
			}
		}
		if p.Dropped("model.layers.2.self_attn.rotary_emb.inv_freq") != true {
			t.Errorf("%s: inv_freq not dropped", n)
		}
	}
	check := func(preset, hf, gguf string, want func(Match) bool) {
		t.Helper()
		p, _ := BuiltinPreset(preset)
		m, ok := p.ToGGUF(hf)
		if !ok || m.Name != gguf || !want(m) {
			t.Errorf("%s: %s -> %+v, want %s", preset, hf, m, gguf)
		}
	}
	any := func(Match) bool { return true }
	check("mixtral", "model.layers.3.block_sparse_moe.experts.7.w2.weight", "blk.3.ffn_down_exps.weight",
		func(m Match) bool { return m.Expert == 7 && m.Rule.Stack })
	check("mixtral", "model.layers.3.block_sparse_moe.gate.weight", "blk.3.ffn_gate_inp.weight", any)
	check("phi3", "model.layers.1.self_attn.qkv_proj.weight", "blk.1.attn_qkv.weight",
		func(m Match) bool { return reflect.DeepEqual(m.Rule.Fused, []string{"q", "k", "v"}) })
	check("phi3", "model.layers.1.mlp.gate_up_proj.weight", "blk.1.ffn_up.weight",
		func(m Match) bool { return reflect.DeepEqual(m.Rule.Fused, []string{"gate", "up"}) })
	check("gemma2", "model.layers.0.post_feedforward_layernorm.weight", "blk.0.post_ffw_norm.weight",
		func(m Match) bool { return m.Rule.Add == 1 })
	check("gemma2", "model.layers.0.post_attention_layernorm.weight", "blk.0.post_attention_norm.weight", any)
	check("gemma3", "model.layers.0.self_attn.k_norm.weight", "blk.0.attn_k_norm.weight",
		func(m Match) bool { return m.Rule.Add == 1 })
	check("gemma", "model.norm.weight", "output_norm.weight", func(m Match) bool { return m.Rule.Add == 1 })
	check("qwen2", "model.layers.2.self_attn.k_proj.weight", "blk.2.attn_k.weight",
		func(m Match) bool { return m.Rule.Permute == "" })
	check("mistral", "model.layers.2.self_attn.k_proj.weight", "blk.2.attn_k.weight",
		func(m Match) bool { return m.Rule.Permute == "n_head_kv" })
	check("llama", "lm_head.weight", "output.weight", func(m Match) bool { return m.Rule.Tied == "model.embed_tokens.weight" })
	p, _ := BuiltinPreset("llama")
	if _, ok := p.ToGGUF("model.layers.01.mlp.up_proj.weight"); ok {
		t.Errorf("leading zero layer matched")
	}
	if !p.Extra("rope_freqs.weight") || p.Extra("blk.0.attn_q.weight") {
		t.Errorf("extras")
	}
}

func TestParsePresetErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"map a b", "u.preset:1: the first directive"},
		{"preset x\nmap a", "u.preset:2: want \"map HF GGUF"},
		{"preset x\nmap a.{N} b", "u.preset:2: {N} must be in both"},
		{"preset x\nmap a.{X} b", "unknown placeholder {X}"},
		{"preset x\nmap a.{N} b.{N} permute=n_head", "no param \"n_head\""},
		{"preset x\nmap a.{E} b", "stack goes with {E}"},
		{"preset x\nmap a b add=one", "add=one is not a number"},
		{"preset x\nmap a b colour=red", "unknown option"},
		{"preset x\nonedim q9", "unknown type"},
		{"preset x\nfrobnicate", "unknown directive"},
		{"preset x\n", "no map rules"},
		{strings.Repeat("#", maxPresetBytes+1), "larger than"},
	} {
		_, err := ParsePreset("u.preset", strings.NewReader(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: %v, want %q", c.text, err, c.want)
		}
	}
}

func FuzzParsePreset(f *testing.F) {
	for _, n := range PresetNames() {
		b, _ := presetFS.ReadFile("presets/" + n + ".preset")
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePreset("fuzz.preset", strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range p.Rules {
			// A name made from a rule maps back through the first rule that takes it.
			hf := fill(strings.Replace(r.HF, "{E}", "3", 1), 5, -1)
			if _, ok := p.ToGGUF(hf); !ok {
				t.Fatalf("rule %+v does not match its own name %q", r, hf)
			}
		}
	})
}
