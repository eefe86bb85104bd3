#!/usr/bin/env python3
"""A tiny Hugging Face -> GGUF converter that follows llama.cpp's rules, for tests.

  hf_to_gguf_mini.py make-hf OUTDIR [--arch llama|gemma] [--seed N] [--tied]
      torch builds a small llama-shaped checkpoint: OUTDIR/model.safetensors
      (float32, written by refcmp_io.write_safetensors) and OUTDIR/config.json.

  hf_to_gguf_mini.py convert HFDIR OUT.gguf [--outtype f32|f16|q8_0|q4_k|mixed]
      [--rope-freqs] [--bug drop=GGUF_NAME] [--bug no-permute=LAYER]
      [--bug swap-layers=A,B] [--bug gemma-plus-one-twice]
      writes GGUF v3 (little-endian, alignment 32) with a small writer of
      its own, following convert_hf_to_gguf.py (llama.cpp):
      - names: model.layers.N.self_attn.q_proj.weight -> blk.N.attn_q.weight,
        mlp.gate_proj -> ffn_gate, input_layernorm -> attn_norm, ... (the
        table in gguf-py/gguf/tensor_mapping.py);
      - llama: Q and K rows permuted for llama.cpp's NORM RoPE,
        LlamaModel.permute: w.reshape(n_head, 2, rows // n_head // 2, cols)
        .swapaxes(1, 2).reshape(w.shape), with n_head_kv for K;
      - gemma: norm weights stored as w + 1 (GemmaModel), no permute (NEOX RoPE);
      - 1-D tensors F32; a tied lm_head is absent (output.weight missing);
        rotary_emb.inv_freq dropped; --rope-freqs adds rope_freqs.weight;
      - F16, Q8_0 and Q4_K data made by ggml's own ggml_quantize_chunk
        (ggml_oracle.py); "mixed" puts attention in Q4_K, FFN in Q8_0 and
        the embedding in F16.
      The --bug options plant the mistakes refcmp must name: drop a tensor,
      skip the permute on one layer, swap two layers, apply Gemma's +1 twice.

Run with /usr/bin/python3 (Debian's numpy and torch).
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ggml_oracle  # noqa: E402
import refcmp_io  # noqa: E402

GGML = {"F32": 0, "F16": 1, "Q8_0": 8, "Q4_K": 12}
BLOCK = {"F32": (1, 4), "F16": (1, 2), "Q8_0": (32, 34), "Q4_K": (256, 144)}

# HF suffix inside a layer -> GGUF suffix (gguf-py tensor_mapping.py).
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
TOP_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}


def make_hf(outdir, arch, seed, tied, small=False):
    import torch
    g = torch.Generator().manual_seed(seed)
    cfg = {
        "architectures": ["GemmaForCausalLM" if arch == "gemma" else "LlamaForCausalLM"],
        "model_type": arch, "hidden_size": 256, "intermediate_size": 512,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 64, "vocab_size": 320, "max_position_embeddings": 128,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "tie_word_embeddings": bool(tied or arch == "gemma"),
    }
    if small:  # for docs fixtures: rows of 32 (Q8_0 blocks, not Q4_K's 256)
        cfg.update(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                   num_key_value_heads=1, head_dim=16, vocab_size=32)
    h, inter, hd = cfg["hidden_size"], cfg["intermediate_size"], cfg["head_dim"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]

    def w(*shape):
        return torch.randn(*shape, generator=g) * 0.02

    def norm():
        # Gemma's HF norm weights are offsets around 0; llama's around 1.
        base = 0.0 if arch == "gemma" else 1.0
        return base + torch.randn(h, generator=g) * 0.1

    t = [("model.embed_tokens.weight", w(cfg["vocab_size"], h))]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        t += [(p + "input_layernorm.weight", norm()),
              (p + "self_attn.q_proj.weight", w(nh * hd, h)),
              (p + "self_attn.k_proj.weight", w(nkv * hd, h)),
              (p + "self_attn.v_proj.weight", w(nkv * hd, h)),
              (p + "self_attn.o_proj.weight", w(h, nh * hd)),
              (p + "self_attn.rotary_emb.inv_freq",
               1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))),
              (p + "post_attention_layernorm.weight", norm()),
              (p + "mlp.gate_proj.weight", w(inter, h)),
              (p + "mlp.up_proj.weight", w(inter, h)),
              (p + "mlp.down_proj.weight", w(h, inter))]
    t.append(("model.norm.weight", norm()))
    if not cfg["tie_word_embeddings"]:
        t.append(("lm_head.weight", w(cfg["vocab_size"], h)))
    os.makedirs(outdir, exist_ok=True)
    refcmp_io.write_safetensors(os.path.join(outdir, "model.safetensors"), t)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1, sort_keys=True)


def permute(w, n_head, n_head_kv):
    # convert_hf_to_gguf.py LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def gguf_name(hf):
    if hf in TOP_NAMES:
        return TOP_NAMES[hf]
    parts = hf.split(".")
    if len(parts) > 3 and parts[0] == "model" and parts[1] == "layers":
        suffix = ".".join(parts[3:])
        if suffix in LAYER_NAMES:
            return "blk.%s.%s" % (parts[2], LAYER_NAMES[suffix])
    return None


def pick_type(name, arr, outtype):
    if arr.ndim == 1:
        return "F32"
    if outtype == "mixed":
        if name == "token_embd.weight":
            return "F16"
        return "Q4_K" if ".attn_" in name else "Q8_0"
    return {"f32": "F32", "f16": "F16", "q8_0": "Q8_0", "q4_k": "Q4_K"}[outtype]


def encode(g, ty, arr):
    arr = np.ascontiguousarray(arr, dtype="<f4")
    if ty == "F32":
        return arr.tobytes()
    return g.quantize(GGML[ty], arr.tobytes(), arr.shape[-1])


def convert(hfdir, out, outtype, rope_freqs, bugs):
    with open(os.path.join(hfdir, "config.json")) as f:
        cfg = json.load(f)
    arch = cfg["model_type"]
    src, _ = refcmp_io.read_safetensors(os.path.join(hfdir, "model.safetensors"), backend="numpy")
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    drop = {b.split("=", 1)[1] for b in bugs if b.startswith("drop=")}
    no_permute = {int(b.split("=", 1)[1]) for b in bugs if b.startswith("no-permute=")}
    swap = {}
    for b in bugs:
        if b.startswith("swap-layers="):
            a, c = b.split("=", 1)[1].split(",")
            swap[a], swap[c] = c, a
    plus = 2.0 if "gemma-plus-one-twice" in bugs else 1.0

    tensors = []
    for hf, arr in src.items():
        name = gguf_name(hf)
        if name is None:
            continue  # rotary_emb.inv_freq and other buffers are dropped
        arr = np.asarray(arr, dtype=np.float32)
        layer = int(hf.split(".")[2]) if hf.startswith("model.layers.") else None
        if arch == "llama" and layer not in no_permute:
            if hf.endswith("q_proj.weight"):
                arr = permute(arr, nh, nh)
            elif hf.endswith("k_proj.weight"):
                arr = permute(arr, nh, nkv)
        if arch == "gemma" and hf.endswith("norm.weight"):
            arr = arr + plus
        if layer is not None and str(layer) in swap:
            name = "blk.%s.%s" % (swap[str(layer)], name.split(".", 2)[2])
        if name in drop:
            continue
        tensors.append((name, arr))
    if rope_freqs:
        tensors.append(("rope_freqs.weight", np.ones(cfg["head_dim"] // 2, dtype=np.float32)))
    # llama.cpp writes layers in order; a swap only renames.
    order = {n: i for i, (n, _) in enumerate(tensors)}
    tensors.sort(key=lambda t: (0 if not t[0].startswith("blk.") else 1,
                                int(t[0].split(".")[1]) if t[0].startswith("blk.") else 0, order[t[0]]))

    g = ggml_oracle.Ggml()
    kv = [
        ("general.architecture", "str", arch),
        ("general.name", "str", "refcmp mini " + arch),
        ("general.alignment", "u32", 32),
        (arch + ".block_count", "u32", cfg["num_hidden_layers"]),
        (arch + ".context_length", "u32", cfg["max_position_embeddings"]),
        (arch + ".embedding_length", "u32", cfg["hidden_size"]),
        (arch + ".feed_forward_length", "u32", cfg["intermediate_size"]),
        (arch + ".attention.head_count", "u32", nh),
        (arch + ".attention.head_count_kv", "u32", nkv),
        (arch + ".attention.key_length", "u32", cfg["head_dim"]),
        (arch + ".attention.value_length", "u32", cfg["head_dim"]),
        (arch + ".attention.layer_norm_rms_epsilon", "f32", cfg["rms_norm_eps"]),
        (arch + ".rope.freq_base", "f32", cfg["rope_theta"]),
        (arch + ".vocab_size", "u32", cfg["vocab_size"]),
    ]
    infos, blobs = [], []
    for name, arr in tensors:
        ty = pick_type(name, arr, outtype)
        blobs.append(encode(g, ty, arr))
        infos.append((name, list(reversed(arr.shape)), GGML[ty]))
    write_gguf(out, kv, infos, blobs, 32)


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def write_gguf(path, kv, infos, blobs, align):
    """GGUF v3, little-endian: header, KVs, tensor infos (dims innermost
    first), padding to align, then each tensor's data padded to align."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(kv)))
    for key, ty, v in kv:
        out += _str(key)
        if ty == "str":
            out += struct.pack("<I", 8) + _str(v)
        elif ty == "u32":
            out += struct.pack("<II", 4, v)
        elif ty == "f32":
            out += struct.pack("<If", 6, v)
    off = 0
    for (name, dims, ty), blob in zip(infos, blobs):
        out += _str(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ty, off)
        off += len(blob) + (-len(blob)) % align
    out += b"\0" * ((-len(out)) % align)
    for blob in blobs:
        out += blob + b"\0" * ((-len(blob)) % align)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, path)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-hf")
    m.add_argument("outdir")
    m.add_argument("--arch", choices=["llama", "gemma"], default="llama")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--tied", action="store_true")
    m.add_argument("--small", action="store_true")
    c = sub.add_parser("convert")
    c.add_argument("hfdir")
    c.add_argument("out")
    c.add_argument("--outtype", choices=["f32", "f16", "q8_0", "q4_k", "mixed"], default="mixed")
    c.add_argument("--rope-freqs", action="store_true")
    c.add_argument("--bug", action="append", default=[])
    a = ap.parse_args(argv)
    if a.cmd == "make-hf":
        make_hf(a.outdir, a.arch, a.seed, a.tied, a.small)
    else:
        for b in a.bug:
            if not (b.startswith(("drop=", "no-permute=", "swap-layers=")) or b == "gemma-plus-one-twice"):
                ap.error("unknown --bug %r" % b)
        convert(a.hfdir, a.out, a.outtype, a.rope_freqs, a.bug)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
