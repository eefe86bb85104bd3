#!/usr/bin/env python3
"""make_planted_unseen.py: planted bugs written by an outside evaluator.

Usage (from the repository root):
    /usr/bin/python3 scripts/make_planted_unseen.py --out DIR [--seed 0]

Each case is a small but realistic model (Llama, Gemma, Phi/NeoX, Mistral,
GPT-2, CLIP/ViT/DINOv2, T5, ResNet) run twice: the reference in torch
float32 (float64 where said) and a port with ONE planted bug, or none (the
noise ports, which differ by float noise only), dumped at the tensor where
the port first diverges. Unlike make_planted.py, these cases were written
without looking at refcmp's detectors; they are the regression suite of the
bugs refcmp once named a false cause for (issue 8).

Output, in the format of make_planted.py: <out>/planted.safetensors holds
"<case>/ref" and "<case>/ours"; <out>/manifest.json lists the cases:
    name     case name
    tensor   the activation's name in the real model
    expect   the hint kind refcmp must put first: the honest diagnosis,
             "unexplained" where no detector applies, "noise" for the
             correct ports, "pass" for a port that is bit-identical
    accept   the kinds an informed reader would accept (expect is one)
    strict   compare with atol = rtol = 0 when the default tolerance
             passes ("is this only float noise?")
    about    the bug, in words
--seed N shifts every case's seed by N (other values, same shapes).
Needs numpy and torch.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcmp_io  # noqa: E402

torch.set_num_threads(1)
CASES = []


def case(name, model, tensor, about, expect, category="bug"):
    def deco(fn):
        CASES.append(dict(name=name, model=model, tensor=tensor, about=about,
                          expect=expect, category=category, fn=fn))
        return fn
    return deco


def gen(seed):
    return torch.Generator().manual_seed(seed)


def randn(g, *shape, std=1.0, dtype=torch.float32):
    return torch.randn(*shape, generator=g, dtype=dtype) * std


# ---------------------------------------------------------------------------
# building blocks (reference formulations)

def rmsnorm(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def layer_norm(x, w, b, eps=1e-5, dim=-1):
    mu = x.mean(dim, keepdim=True)
    var = x.var(dim, keepdim=True, unbiased=False)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


def rope_cos_sin(pos, dim, base=10000.0, dtype=torch.float32):
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    fr = torch.outer(pos.to(torch.float64), inv)
    emb = torch.cat((fr, fr), -1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def apply_rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


class Llama:
    """One Llama-style block: RMSNorm, GQA attention with RoPE, SwiGLU."""

    def __init__(self, seed, B=1, T=32, C=256, H=8, KVH=2, I=688, dtype=torch.float32):
        g = gen(seed)
        self.B, self.T, self.C, self.H, self.KVH, self.D, self.I = B, T, C, H, KVH, C // H, I
        s = 1 / math.sqrt(C)
        self.x = randn(g, B, T, C, std=1.0)
        self.ln1 = 1 + randn(g, C, std=0.1)
        self.ln2 = 1 + randn(g, C, std=0.1)
        self.wq = randn(g, H * self.D, C, std=s)
        self.wk = randn(g, KVH * self.D, C, std=s)
        self.wv = randn(g, KVH * self.D, C, std=s)
        self.wo = randn(g, C, H * self.D, std=s)
        self.wg = randn(g, I, C, std=s)
        self.wu = randn(g, I, C, std=s)
        self.wd = randn(g, C, I, std=1 / math.sqrt(I))
        if dtype != torch.float32:
            for k, v in list(vars(self).items()):
                if isinstance(v, torch.Tensor):
                    setattr(self, k, v.to(dtype))
        self.dtype = dtype

    def qkv(self, h):
        B, T = h.shape[:2]
        q = (h @ self.wq.T).view(B, T, self.H, self.D).transpose(1, 2)
        k = (h @ self.wk.T).view(B, T, self.KVH, self.D).transpose(1, 2)
        v = (h @ self.wv.T).view(B, T, self.KVH, self.D).transpose(1, 2)
        return q, k, v

    def attn(self, h, pos=None):
        B, T = h.shape[:2]
        q, k, v = self.qkv(h)
        pos = torch.arange(T) if pos is None else pos
        cos, sin = rope_cos_sin(pos, self.D, dtype=self.dtype)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.H // self.KVH
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        s = q @ k.transpose(-1, -2) / math.sqrt(self.D)
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        p = s.softmax(-1)
        o = (p @ v).transpose(1, 2).reshape(B, T, self.C)
        return o @ self.wo.T

    def mlp(self, h):
        return (F.silu(h @ self.wg.T) * (h @ self.wu.T)) @ self.wd.T

    def block(self, x):
        h = x + self.attn(rmsnorm(x, self.ln1))
        return h + self.mlp(rmsnorm(h, self.ln2))


class GPT2:
    def __init__(self, seed, B=1, T=64, C=256, H=4, V=1000):
        g = gen(seed)
        self.B, self.T, self.C, self.H, self.D, self.V = B, T, C, H, C // H, V
        self.ids = torch.randint(0, V - 1, (B, T), generator=g)
        self.wte = randn(g, V, C, std=0.02 * 10)
        self.wpe = randn(g, 1024, C, std=0.01 * 10)
        self.ln_w = 1 + randn(g, C, std=0.1)
        self.ln_b = randn(g, C, std=0.05)
        # HF Conv1D layout: weight [in, out], y = x @ W + b
        self.c_attn_w = randn(g, C, 3 * C, std=0.02 * 3)
        self.c_attn_b = randn(g, 3 * C, std=0.02)
        self.c_proj_w = randn(g, C, C, std=0.02 * 3)
        self.c_proj_b = randn(g, C, std=0.02)
        self.fc_w = randn(g, C, 4 * C, std=0.02 * 3)
        self.fc_b = randn(g, 4 * C, std=0.02)

    def embed(self, ids=None, pos=True):
        ids = self.ids if ids is None else ids
        e = self.wte[ids]
        if pos:
            e = e + self.wpe[torch.arange(ids.shape[1])]
        return e

    def scores(self, x):
        B, T, C = x.shape
        h = layer_norm(x, self.ln_w, self.ln_b)
        qkv = h @ self.c_attn_w + self.c_attn_b
        q, k, v = qkv.split(C, -1)
        f = lambda t: t.view(B, T, self.H, self.D).transpose(1, 2)
        return f(q), f(k), f(v)


class ResNetBlock:
    def __init__(self, seed, N=2, C=16, HW=16):
        g = gen(seed)
        self.x = randn(g, N, C, HW, HW)
        self.w1 = randn(g, C, C, 3, 3, std=math.sqrt(2 / (9 * C)))
        self.bn_w = 1 + randn(g, C, std=0.2)
        self.bn_b = randn(g, C, std=0.2)
        self.rm = randn(g, C, std=0.1)
        self.rv = 0.5 + torch.rand(C, generator=g)


def bn_train(x, w, b, eps=1e-5, unbiased=False):
    mu = x.mean((0, 2, 3), keepdim=True)
    var = x.var((0, 2, 3), keepdim=True, unbiased=unbiased)
    return (x - mu) / torch.sqrt(var + eps) * w.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)


# ---------------------------------------------------------------------------
# planted bugs

@case("rms_eps_outside_sqrt", "llama", "model.layers.0.input_layernorm",
      "RMSNorm x/(sqrt(ms)+eps) instead of x/sqrt(ms+eps), on embedding-scale input (std 0.02, eps 1e-5)",
      ["norm_stats", "channel_affine"])  # a per-token scale: channel_affine on the token axis
def _(seed=11):
    m = Llama(seed, T=48, C=512, H=8)
    x = m.x * 0.02
    eps = 1e-5
    ref = rmsnorm(x, m.ln1, eps)
    ours = x / (torch.sqrt(x.pow(2).mean(-1, keepdim=True)) + eps) * m.ln1
    return ref, ours


@case("rms_gemma_1plus_w", "gemma", "model.layers.0.input_layernorm",
      "Gemma RMSNorm multiplies by (1 + w); port multiplies by w (w stored as offsets around 0)",
      ["channel_affine", "scaled"])
def _(seed=12):
    m = Llama(seed, T=24, C=256, H=4, KVH=1)
    w = randn(gen(seed + 1), m.C, std=0.3)
    n = m.x * torch.rsqrt(m.x.pow(2).mean(-1, keepdim=True) + 1e-6)
    return n * (1 + w), n * w


@case("ln_wrong_axis", "gpt2", "h.0.ln_1",
      "LayerNorm statistics taken over the sequence axis (dim 1) instead of the channels",
      ["unexplained", "norm_axis"])
def _(seed=13):
    m = GPT2(seed, B=2, T=32, C=128)
    x = m.embed()
    return layer_norm(x, m.ln_w, m.ln_b), layer_norm(x, m.ln_w, m.ln_b, dim=1)


@case("gqa_repeat_tile", "llama-gqa", "model.layers.0.self_attn.key_states_repeated",
      "GQA kv heads expanded with .repeat (tile) instead of repeat_interleave",
      ["reordered", "permuted"])
def _(seed=14):
    m = Llama(seed, T=20, C=512, H=8, KVH=2)
    _, k, _ = m.qkv(rmsnorm(m.x, m.ln1))
    return k.repeat_interleave(4, 1), k.repeat(1, 4, 1, 1)


@case("partial_rotary_full", "phi/neox", "model.layers.0.self_attn.q_rot",
      "partial_rotary_factor 0.25 ignored: RoPE applied to the whole head dim",
      ["position", "confined"])
def _(seed=15):
    m = Llama(seed, T=40, C=512, H=8, KVH=8)
    q, _, _ = m.qkv(rmsnorm(m.x, m.ln1))
    rd = m.D // 4
    cos, sin = rope_cos_sin(torch.arange(m.T), rd)
    ref = torch.cat((apply_rope(q[..., :rd], cos, sin), q[..., rd:]), -1)
    cos2, sin2 = rope_cos_sin(torch.arange(m.T), m.D)
    return ref, apply_rope(q, cos2, sin2)


@case("rope_cache_offset", "llama", "model.layers.0.self_attn.k_rot",
      "second prefill chunk with a KV cache of 7: positions start at 0 instead of 7",
      ["position", "unexplained"])
def _(seed=16):
    m = Llama(seed, T=16, C=256, H=4, KVH=2)
    _, k, _ = m.qkv(rmsnorm(m.x, m.ln1))
    c1, s1 = rope_cos_sin(torch.arange(7, 7 + m.T), m.D)
    c0, s0 = rope_cos_sin(torch.arange(m.T), m.D)
    return apply_rope(k, c1, s1), apply_rope(k, c0, s0)


@case("rope_linear_scaling_missing", "llama-longctx", "model.layers.0.self_attn.q_rot",
      "rope_scaling {type: linear, factor: 4} ignored (positions not divided by 4)",
      ["position"])
def _(seed=17):
    m = Llama(seed, T=128, C=256, H=4, KVH=4)
    q, _, _ = m.qkv(rmsnorm(m.x, m.ln1))
    c1, s1 = rope_cos_sin(torch.arange(m.T) / 4.0, m.D)
    c0, s0 = rope_cos_sin(torch.arange(m.T), m.D)
    return apply_rope(q, c1, s1), apply_rope(q, c0, s0)


@case("attn_scale_1_over_d", "llama", "model.layers.0.self_attn.attn_scores",
      "scores scaled by 1/d instead of 1/sqrt(d) (d=64), before the mask",
      ["scaled"])
def _(seed=18):
    m = Llama(seed, T=32, C=512, H=8, KVH=8)
    q, k, _ = m.qkv(rmsnorm(m.x, m.ln1))
    s = q @ k.transpose(-1, -2)
    return s / 8.0, s / 64.0


@case("attn_probs_scale_1_over_d", "gpt2", "h.0.attn.attn_weights",
      "softmax of scores scaled by 1/d instead of 1/sqrt(d): a temperature inside the softmax",
      ["unexplained"])
def _(seed=19):
    m = GPT2(seed, B=1, T=48, C=256, H=4)
    q, k, _ = m.scores(m.embed())
    s = q @ k.transpose(-1, -2)
    mask = torch.ones(m.T, m.T, dtype=torch.bool).triu(1)
    f = lambda sc: sc.masked_fill(mask, float("-inf")).softmax(-1)
    return f(s / 8.0), f(s / 64.0)


@case("missing_residual", "llama", "model.layers.0.post_attn_hidden",
      "h = attn(norm(x)) instead of x + attn(norm(x))", ["unexplained"])
def _(seed=20):
    m = Llama(seed, T=32, C=256, H=8)
    a = m.attn(rmsnorm(m.x, m.ln1))
    return m.x + a, a


@case("residual_twice", "llama", "model.layers.1.post_attn_hidden",
      "residual added twice: h = 2x + attn(norm(x))", ["unexplained"])
def _(seed=21):
    m = Llama(seed, T=24, C=256, H=8)
    a = m.attn(rmsnorm(m.x, m.ln1))
    return m.x + a, m.x + m.x + a


@case("swiglu_swapped", "llama", "model.layers.0.mlp.act_fn_out",
      "SwiGLU with gate and up swapped: silu(up) * gate", ["unexplained"])
def _(seed=22):
    m = Llama(seed, T=32, C=256)
    h = rmsnorm(m.x, m.ln2)
    gt, up = h @ m.wg.T, h @ m.wu.T
    return F.silu(gt) * up, F.silu(up) * gt


@case("clip_quick_gelu_as_erf", "clip-vit", "vision_model.encoder.layers.0.mlp.activation",
      "CLIP uses quick_gelu x*sigmoid(1.702x); the port uses exact erf GELU", ["elementwise"])
def _(seed=23):
    g = gen(seed)
    x = randn(g, 1, 50, 3072) * 1.5
    return quick_gelu(x), gelu(x)


@case("relu_for_gelu", "vit", "encoder.layer.3.intermediate.act",
      "ReLU where the model uses GELU", ["elementwise"])
def _(seed=24):
    x = randn(gen(seed), 2, 65, 768)
    return gelu(x), F.relu(x)


@case("conv_kernel_flipped", "resnet", "layer1.0.conv1",
      "true convolution (kernel flipped in H and W) instead of cross-correlation", ["unexplained"])
def _(seed=25):
    m = ResNetBlock(seed, N=2, C=16, HW=16)
    return F.conv2d(m.x, m.w1, padding=1), F.conv2d(m.x, m.w1.flip(-1, -2), padding=1)


@case("conv_asym_pad", "resnet", "layer1.0.conv1",
      "'same' padding done as (2,0) on the width instead of (1,1): output shifted right by one",
      ["shifted", "border"])
def _(seed=26):
    m = ResNetBlock(seed, N=1, C=32, HW=32)
    g = gen(seed)
    w = randn(g, 32, 32, 3, 3, std=math.sqrt(2 / (9 * 32)))
    ref = F.conv2d(m.x, w, padding=1)
    ours = F.conv2d(F.pad(m.x, (2, 0, 1, 1)), w)
    return ref, ours


@case("bn_train_unbiased_var", "resnet", "layer1.0.bn1",
      "BatchNorm in training mode normalizes with the unbiased batch variance (n = N*H*W = 256)",
      ["norm_stats", "channel_affine"])
def _(seed=27):
    m = ResNetBlock(seed, N=4, C=16, HW=8)
    y = F.conv2d(m.x, m.w1, padding=1)
    return bn_train(y, m.bn_w, m.bn_b), bn_train(y, m.bn_w, m.bn_b, unbiased=True)


@case("dropout_left_on", "gpt2", "h.0.mlp.dropout",
      "residual dropout p=0.1 left on at inference (random zeros, the rest scaled by 1/0.9)",
      ["dropout"])
def _(seed=28):
    g = gen(seed)
    y = randn(g, 1, 128, 768) * 0.5
    keep = (torch.rand(y.shape, generator=g) > 0.1).float()
    return y, y * keep / 0.9


@case("conv1d_weight_transposed", "gpt2", "h.0.attn.c_proj",
      "HF Conv1D weight [in,out] used as nn.Linear [out,in] (square 256x256: no shape error)",
      ["unexplained"])
def _(seed=29):
    m = GPT2(seed, B=1, T=64, C=256)
    a = randn(gen(seed), 1, 64, 256) * 0.5
    return a @ m.c_proj_w + m.c_proj_b, a @ m.c_proj_w.T + m.c_proj_b


@case("embed_ids_off_by_one", "gpt2", "transformer.wte",
      "token ids shifted by +1 (a 1-based vocabulary) before the embedding lookup", ["unexplained"])
def _(seed=30):
    m = GPT2(seed, B=2, T=40, C=256)
    return m.wte[m.ids], m.wte[m.ids + 1]


@case("pos_emb_missing", "gpt2", "transformer.h_in",
      "learned position embedding wpe not added to the token embedding", ["unexplained"])
def _(seed=31):
    m = GPT2(seed, B=2, T=64, C=256)
    return m.embed(), m.embed(pos=False)


@case("causal_mask_missing", "gpt2", "h.0.attn.attn_weights",
      "no causal mask at all", ["band"])
def _(seed=32):
    m = GPT2(seed, B=1, T=32, C=256, H=4)
    q, k, _ = m.scores(m.embed())
    s = q @ k.transpose(-1, -2) / 8.0
    mask = torch.ones(m.T, m.T, dtype=torch.bool).triu(1)
    return s.masked_fill(mask, float("-inf")).softmax(-1), s.softmax(-1)


@case("sliding_window_wrong", "mistral", "model.layers.0.self_attn.attn_weights",
      "sliding window 32 where the model uses 16 (T=64)", ["band"])
def _(seed=33):
    m = Llama(seed, T=64, C=256, H=4, KVH=1)
    q, k, _ = m.qkv(rmsnorm(m.x, m.ln1))
    s = q @ k.repeat_interleave(4, 1).transpose(-1, -2) / math.sqrt(m.D)
    i = torch.arange(m.T)
    dd = i[None, :] - i[:, None]  # j - i

    def f(W):
        mask = (dd > 0) | (dd <= -W)
        return s.masked_fill(mask, float("-inf")).softmax(-1)
    return f(16), f(32)


@case("padding_side_wrong", "llama", "model.layers.0.self_attn.attn_weights",
      "batch padded on the right (lengths 48, 36, 20) but the key padding mask built for left padding",
      ["confined", "band"])
def _(seed=34):
    m = Llama(seed, B=3, T=48, C=256, H=4, KVH=4)
    q, k, _ = m.qkv(rmsnorm(m.x, m.ln1))
    s = q @ k.transpose(-1, -2) / math.sqrt(m.D)
    lens = torch.tensor([48, 36, 20])
    j = torch.arange(m.T)
    causal = torch.ones(m.T, m.T, dtype=torch.bool).triu(1)
    right = (j[None, :] >= lens[:, None])  # key j is padding
    left = (j[None, :] < (m.T - lens)[:, None])

    def f(pad):
        mask = causal[None, None] | pad[:, None, None, :]
        # fully masked rows would be NaN: HF gives them uniform attention via finfo.min
        return s.masked_fill(mask, torch.finfo(torch.float32).min).softmax(-1)
    return f(right), f(left)


@case("softmax_bf16", "llama", "model.layers.0.self_attn.attn_weights",
      "attention softmax computed in bfloat16 (cast back to float32 for the dump)", ["rounding"],
      "precision")
def _(seed=35):
    m = Llama(seed, T=32, C=256, H=4, KVH=4)
    q, k, _ = m.qkv(rmsnorm(m.x, m.ln1))
    s = q @ k.transpose(-1, -2) / math.sqrt(m.D)
    mask = torch.ones(m.T, m.T, dtype=torch.bool).triu(1)
    s = s.masked_fill(mask, float("-inf"))
    return s.softmax(-1), s.bfloat16().softmax(-1).float()


@case("bf16_matmul", "llama", "model.layers.0.self_attn.q_proj",
      "q_proj computed with bf16 inputs and weights (f32 accumulate, f32 out)",
      ["rounding", "unexplained"], "precision")
def _(seed=36):
    m = Llama(seed, T=64, C=512, H=8)
    h = rmsnorm(m.x, m.ln1)
    return h @ m.wq.T, (h.bfloat16().float() @ m.wq.bfloat16().float().T)


def q8_rows(w):
    s = w.abs().amax(1, keepdim=True) / 127
    return (w / s).round().clamp(-127, 127) * s


@case("int8_weight", "llama", "model.layers.0.mlp.down_proj.weight",
      "down_proj weight quantized to int8 per output channel (absmax) and dequantized",
      ["rounding", "unexplained"], "precision")
def _(seed=37):
    m = Llama(seed, C=256, I=688)
    return m.wd, q8_rows(m.wd)


@case("int8_weight_act", "llama", "model.layers.0.mlp.down_proj",
      "output of down_proj with the int8 per-channel weight", ["unexplained", "rounding"], "precision")
def _(seed=38):
    m = Llama(seed, T=32, C=256, I=688)
    h = rmsnorm(m.x, m.ln2)
    a = F.silu(h @ m.wg.T) * (h @ m.wu.T)
    return a @ m.wd.T, a @ q8_rows(m.wd).T


def synthetic_image(g, N, HW):
    """Smooth image in [0,1] with strongly correlated channels, like a photo."""
    base = F.interpolate(torch.rand(N, 1, HW // 8, HW // 8, generator=g), size=(HW, HW),
                         mode="bilinear", align_corners=False)
    tint = F.interpolate(torch.rand(N, 3, HW // 16, HW // 16, generator=g), size=(HW, HW),
                         mode="bilinear", align_corners=False)
    return (0.7 * base + 0.3 * tint).clamp(0, 1)


MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@case("bgr_input", "resnet", "pixel_values",
      "image decoded as BGR (OpenCV) and normalized with RGB mean/std", ["index_permuted"])
def _(seed=39):
    img = synthetic_image(gen(seed), 1, 64)
    return (img - MEAN) / STD, (img.flip(1) - MEAN) / STD


@case("vit_patch_no_transpose", "vit", "embeddings.patch_embeddings",
      "patch conv output [B,C,14,14] reshaped to [B,196,C] without flatten(2).transpose(1,2)",
      ["reordered"])
def _(seed=40):
    g = gen(seed)
    img = (synthetic_image(g, 1, 224) - MEAN) / STD
    w = randn(g, 192, 3, 16, 16, std=0.02)
    b = randn(g, 192, std=0.02)
    y = F.conv2d(img, w, b, stride=16)
    return y.flatten(2).transpose(1, 2), y.reshape(1, 196, 192)


@case("heads_merge_dh", "llama", "model.layers.0.self_attn.attn_output",
      "heads merged as [B,T,D,H] (permute(0,2,3,1)) instead of [B,T,H,D]", ["reordered"])
def _(seed=41):
    m = Llama(seed, T=16, C=384, H=6, KVH=6)
    q, k, v = m.qkv(rmsnorm(m.x, m.ln1))
    p = (q @ k.transpose(-1, -2) / math.sqrt(m.D)).softmax(-1)
    o = p @ v
    return o.transpose(1, 2).reshape(1, m.T, m.C), o.permute(0, 2, 3, 1).reshape(1, m.T, m.C)


@case("qk_swapped", "gpt2", "h.0.attn.attn_scores",
      "scores computed as k @ q^T (q and k swapped), before the mask", ["transposed", "permuted"])  # the last two axes swapped: permuted (0, 1, 3, 2)
def _(seed=42):
    m = GPT2(seed, B=2, T=24, C=128, H=4)
    q, k, _ = m.scores(m.embed())
    return q @ k.transpose(-1, -2) / math.sqrt(m.D), k @ q.transpose(-1, -2) / math.sqrt(m.D)


@case("logit_temperature", "gpt2", "lm_head",
      "generation temperature 0.7 applied to the dumped logits", ["scaled"])
def _(seed=43):
    g = gen(seed)
    h = randn(g, 1, 32, 256)
    w = randn(g, 2000, 256, std=0.05)
    lg = h @ w.T
    return lg, lg / 0.7


@case("log_softmax_for_softmax", "classifier", "classifier.probs",
      "log_softmax where softmax is expected", ["elementwise"])
def _(seed=44):
    x = randn(gen(seed), 8, 100) * 2
    return x.softmax(-1), x.log_softmax(-1)


@case("layer_scale_missing", "dinov2", "encoder.layer.0.layer_scale1",
      "LayerScale gamma (per channel) not applied to the attention branch", ["channel_affine", "scaled"])
def _(seed=45):
    g = gen(seed)
    a = randn(g, 1, 257, 384) * 0.7
    gamma = 0.05 + torch.rand(384, generator=g) * 0.9
    return a * gamma, a


def t5_bucket(rel, bidirectional, num_buckets=32, max_distance=128):
    ret = torch.zeros_like(rel)
    n = -rel
    if bidirectional:
        num_buckets //= 2
        ret += (n < 0).long() * num_buckets
        n = n.abs()
    else:
        n = n.clamp(min=0)
    max_exact = num_buckets // 2
    small = n < max_exact
    large = max_exact + (torch.log(n.float() / max_exact + 1e-20) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()
    large = large.clamp(max=num_buckets - 1)
    return ret + torch.where(small, n, large)


@case("t5_bias_unidirectional", "t5-encoder", "encoder.block.0.layer.0.SelfAttention.position_bias",
      "encoder relative-position buckets computed with bidirectional=False (decoder rule)",
      ["unexplained", "confined"])
def _(seed=46):
    g = gen(seed)
    T, H = 40, 8
    emb = randn(g, 32, H, std=0.5)
    i = torch.arange(T)
    rel = i[None, :] - i[:, None]
    f = lambda bi: emb[t5_bucket(rel, bi)].permute(2, 0, 1).unsqueeze(0)
    return f(True), f(False)


@case("rms_eps_1e6_vs_1e5", "llama", "model.layers.0.input_layernorm",
      "RMSNorm eps 1e-6 (Llama-1 config) where the checkpoint uses 1e-5, on unit-scale input: a noise-sized bug",
      ["norm_stats", "channel_affine"])
def _(seed=47):
    m = Llama(seed, T=64, C=1024, H=8)
    x = m.x * (0.5 + torch.rand(1, 64, 1, generator=gen(seed)))
    return rmsnorm(x, m.ln1, 1e-5), rmsnorm(x, m.ln1, 1e-6)


@case("rms_eps_noise_sized", "llama", "model.layers.7.input_layernorm",
      "RMSNorm eps 1e-6 where the checkpoint uses 1e-5, residual stream std ~2.5: a per-row scale of ~8e-7 (about 7 eps)",
      ["norm_stats", "channel_affine", "unexplained"])
def _(seed=48):
    m = Llama(seed, T=64, C=1024, H=8)
    x = m.x * (2 + torch.rand(1, 64, 1, generator=gen(seed)))
    return rmsnorm(x, m.ln1, 1e-5), rmsnorm(x, m.ln1, 1e-6)


# ---------------------------------------------------------------------------
# correct ports: float noise only

@case("noise_f64_ref_block", "llama", "model.layers.0.output",
      "reference block run in float64 (dumped F64), port in float32", ["noise"], "noise")
def _(seed=101):
    m64 = Llama(seed, T=32, C=256, H=8, dtype=torch.float64)
    m32 = Llama(seed, T=32, C=256, H=8)
    return m64.block(m64.x), m32.block(m32.x)


@case("noise_fused_qkv", "llama-gqa", "model.layers.0.self_attn.k_proj",
      "port uses one fused [q;k;v] matmul and slices k", ["noise"], "noise")
def _(seed=102):
    m = Llama(seed, B=1, T=128, C=768, H=12, KVH=4)
    h = rmsnorm(m.x, m.ln1)
    w = torch.cat((m.wq, m.wk, m.wv), 0)
    ours = (h @ w.T)[..., m.wq.shape[0]:m.wq.shape[0] + m.wk.shape[0]]
    return h @ m.wk.T, ours.contiguous()


@case("noise_einsum_attention", "gpt2", "h.0.attn.context",
      "attention context via numpy einsum (float32) vs torch matmul", ["noise"], "noise")
def _(seed=103):
    m = GPT2(seed, B=2, T=48, C=256, H=4)
    q, k, v = m.scores(m.embed())
    mask = torch.ones(m.T, m.T, dtype=torch.bool).triu(1)
    s = (q @ k.transpose(-1, -2) / 8.0).masked_fill(mask, float("-inf"))
    ref = s.softmax(-1) @ v
    qn, kn, vn = q.numpy(), k.numpy(), v.numpy()
    sn = np.einsum("bhid,bhjd->bhij", qn, kn) / np.float32(8.0)
    sn = np.where(mask.numpy(), -np.inf, sn).astype(np.float32)
    e = np.exp(sn - sn.max(-1, keepdims=True))
    pn = e / e.sum(-1, keepdims=True)
    return ref, np.einsum("bhij,bhjd->bhid", pn, vn).astype(np.float32)


@case("noise_ln_naive_sum", "gpt2", "h.0.ln_1",
      "LayerNorm with sequential float32 summation over 768 channels", ["noise"], "noise")
def _(seed=104):
    g = gen(seed)
    x = randn(g, 1, 128, 768) + randn(g, 768, std=0.5)
    w, b = 1 + randn(g, 768, std=0.1), randn(g, 768, std=0.05)
    ref = layer_norm(x, w, b)
    xn = x.numpy()[0]
    s = np.zeros(xn.shape[0], np.float32)
    for c in range(xn.shape[1]):
        s += xn[:, c]
    mu = s / np.float32(768)
    d = xn - mu[:, None]
    v = np.zeros_like(s)
    for c in range(xn.shape[1]):
        v += d[:, c] * d[:, c]
    v /= np.float32(768)
    y = d / np.sqrt(v + np.float32(1e-5))[:, None] * w.numpy() + b.numpy()
    return ref, y[None].astype(np.float32)


@case("noise_softmax_logsumexp", "gpt2", "h.0.attn.attn_weights",
      "softmax as exp(s - logsumexp(s)) instead of exp(s - max)/sum", ["noise"], "noise")
def _(seed=105):
    m = GPT2(seed, B=1, T=64, C=256, H=4)
    q, k, _ = m.scores(m.embed())
    mask = torch.ones(m.T, m.T, dtype=torch.bool).triu(1)
    s = (q @ k.transpose(-1, -2) / 8.0).masked_fill(mask, float("-inf"))
    return s.softmax(-1), torch.exp(s - torch.logsumexp(s, -1, keepdim=True))


@case("noise_conv_im2col", "resnet", "layer2.0.conv1",
      "3x3 conv as numpy im2col + float32 matmul", ["noise"], "noise")
def _(seed=106):
    m = ResNetBlock(seed, N=1, C=32, HW=32)
    x = m.x
    w = randn(gen(seed), 64, 32, 3, 3, std=math.sqrt(2 / 288))
    ref = F.conv2d(x, w, padding=1)
    xp = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[0, :, i:i + 32, j:j + 32] for i in range(3) for j in range(3)], 1)  # C,9,H,W
    cols = cols.reshape(32 * 9, 32 * 32)
    ours = (w.numpy().reshape(64, 32, 9).reshape(64, 288) @ cols).reshape(1, 64, 32, 32)
    return ref, ours.astype(np.float32)


@case("noise_rmsnorm_order", "llama", "model.layers.3.post_attention_layernorm",
      "RMSNorm as (x * w) / sqrt(ms + eps) instead of (x * rsqrt(ms + eps)) * w", ["noise"], "noise")
def _(seed=107):
    g = gen(seed)
    x = randn(g, 1, 64, 1024) * 3
    w = 1 + randn(g, 1024, std=0.2)
    ms = x.pow(2).mean(-1, keepdim=True)
    return rmsnorm(x, w, 1e-5), (x * w) / torch.sqrt(ms + 1e-5)


@case("noise_swiglu_f64", "llama", "model.layers.0.mlp.act_fn_out",
      "SwiGLU product evaluated in float64 then rounded to float32", ["noise"], "noise")
def _(seed=108):
    m = Llama(seed, T=32, C=256)
    h = rmsnorm(m.x, m.ln2)
    gt, up = h @ m.wg.T, h @ m.wu.T
    return F.silu(gt) * up, (F.silu(gt.double()) * up.double()).float()


@case("noise_resnet_bn_fold", "resnet", "layer1.0.bn1",
      "eval BatchNorm folded into the conv weights and bias (inference fusion)", ["noise"], "noise")
def _(seed=109):
    m = ResNetBlock(seed, N=2, C=16, HW=16)
    y = F.conv2d(m.x, m.w1, padding=1)
    ref = F.batch_norm(y, m.rm, m.rv, m.bn_w, m.bn_b, False, 0.0, 1e-5)
    sc = m.bn_w / torch.sqrt(m.rv + 1e-5)
    wf = m.w1 * sc.view(-1, 1, 1, 1)
    bf = m.bn_b - m.rm * sc
    return ref, F.conv2d(m.x, wf, bf, padding=1)


@case("noise_splitk_down_proj", "llama", "model.layers.5.mlp.down_proj",
      "down_proj as split-K (two halves of the 2752 inner dim summed) on massive activations (std 20)",
      ["noise"], "noise")
def _(seed=111):
    g = gen(seed)
    a = randn(g, 1, 64, 2752) * 20
    w = randn(g, 1024, 2752, std=1 / math.sqrt(2752))
    h = 1376
    return a @ w.T, a[..., :h] @ w[:, :h].T + a[..., h:] @ w[:, h:].T


@case("noise_conv_raw_pixels", "resnet", "conv1",
      "7x7/2 stem conv on raw 0..255 pixels, numpy im2col float32 vs torch conv2d", ["noise"], "noise")
def _(seed=112):
    g = gen(seed)
    img = synthetic_image(g, 1, 64) * 255
    w = randn(g, 32, 3, 7, 7, std=math.sqrt(2 / 147))
    ref = F.conv2d(img, w, stride=2, padding=3)
    xp = np.pad(img.numpy(), ((0, 0), (0, 0), (3, 3), (3, 3)))
    cols = np.stack([xp[0, :, i:i + 64:2, j:j + 64:2] for i in range(7) for j in range(7)], 1)
    ours = w.numpy().reshape(32, 147) @ cols.reshape(147, 32 * 32)
    return ref, ours.reshape(1, 32, 32, 32).astype(np.float32)


@case("noise_f64_ref_logits", "gpt2", "lm_head",
      "logits: reference in float64 (dumped F64), port float32, hidden 1024 x vocab 4000", ["noise"], "noise")
def _(seed=113):
    g = gen(seed)
    h = randn(g, 1, 32, 1024, dtype=torch.float64) * 3
    w = randn(g, 4000, 1024, dtype=torch.float64) * 0.05
    return h @ w.T, h.float() @ w.float().T


def tf32(t):
    a = t.numpy().astype(np.float32).view(np.uint32)
    # round to nearest (ties away) at 10 mantissa bits, as cuBLAS TF32 conversion does
    a = ((a + np.uint32(1 << 12)) & np.uint32(0xFFFFE000)).view(np.float32)
    return torch.from_numpy(a.copy())


@case("tf32_matmul", "gpt2", "h.0.mlp.c_fc",
      "c_fc matmul with TF32 inputs (10-bit mantissa), as torch.backends.cuda.matmul.allow_tf32 does",
      ["rounding", "unexplained"], "precision")
def _(seed=110):
    m = GPT2(seed, B=1, T=64, C=256)
    h = layer_norm(m.embed(), m.ln_w, m.ln_b)
    return h @ m.fc_w + m.fc_b, tf32(h) @ tf32(m.fc_w) + m.fc_b


# The kind refcmp puts first on each case: the honest diagnosis (it must
# be one of the case's accepted kinds).
KIND = {
    "rms_eps_outside_sqrt": "channel_affine",  # a per-token scale of ~1.2%
    "rms_gemma_1plus_w": "channel_affine",
    "ln_wrong_axis": "unexplained",
    "gqa_repeat_tile": "reordered",
    "partial_rotary_full": "position",
    "rope_cache_offset": "unexplained",
    "rope_linear_scaling_missing": "position",
    "attn_scale_1_over_d": "scaled",
    "attn_probs_scale_1_over_d": "unexplained",
    "missing_residual": "unexplained",
    "residual_twice": "unexplained",
    "swiglu_swapped": "unexplained",
    "clip_quick_gelu_as_erf": "elementwise",
    "relu_for_gelu": "elementwise",
    "conv_kernel_flipped": "unexplained",
    "conv_asym_pad": "shifted",
    "bn_train_unbiased_var": "norm_stats",
    "dropout_left_on": "dropout",
    "conv1d_weight_transposed": "unexplained",
    "embed_ids_off_by_one": "unexplained",
    "pos_emb_missing": "unexplained",
    "causal_mask_missing": "band",
    "sliding_window_wrong": "band",
    "padding_side_wrong": "unexplained",
    "softmax_bf16": "rounding",
    "bf16_matmul": "unexplained",
    "int8_weight": "unexplained",
    "int8_weight_act": "unexplained",
    "bgr_input": "index_permuted",  # reversed channels, an affine map per channel
    "vit_patch_no_transpose": "reordered",
    "heads_merge_dh": "reordered",
    "qk_swapped": "permuted",
    "logit_temperature": "scaled",
    "log_softmax_for_softmax": "elementwise",
    "layer_scale_missing": "channel_affine",
    "t5_bias_unidirectional": "unexplained",
    "rms_eps_1e6_vs_1e5": "channel_affine",
    "rms_eps_noise_sized": "channel_affine",
    "noise_fused_qkv": "pass",
    "tf32_matmul": "unexplained",
}

# Cases also compared strictly when the default tolerance passes.
STRICT = ("noise_", "rms_eps_noise", "tf32_", "bf16_", "int8_", "softmax_bf16")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tensors, man = {}, []
    for c in CASES:
        fn = c["fn"]
        ref, ours = fn(seed=fn.__defaults__[0] + args.seed)
        name = c["name"]
        kind = KIND.get(name, "noise" if c["category"] == "noise" else None)
        # "unexplained" is an honest answer to any bug: never a false cause
        accept = c["expect"] + (["pass"] if c["category"] == "noise" else ["unexplained"])
        if kind not in accept:
            sys.exit(f"{name}: kind {kind} not among the accepted {accept}")
        tensors[name + "/ref"] = ref
        tensors[name + "/ours"] = ours
        man.append(dict(name=name, model=c["model"], tensor=c["tensor"], expect=kind, accept=accept,
                        strict=name.startswith(STRICT), category=c["category"], about=c["about"]))
    refcmp_io.write_safetensors(os.path.join(args.out, "planted.safetensors"), tensors)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump({"seed": args.seed, "size": "unseen", "cases": man}, f, indent=1)
    print(f"{len(man)} cases in {args.out}")


if __name__ == "__main__":
    main()
