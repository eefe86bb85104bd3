#!/usr/bin/env python3
"""make_planted.py: the planted-bug suite of refcmp's diagnosis.

Usage (from the repository root):
    /usr/bin/python3 scripts/make_planted.py [--out testdata/planted] [--seed 0] [--size small|other|large]

A small GPT-2 style block and a small conv net are run by torch (the
reference, float32), then re-run with one realistic formulation bug planted
at a time, and by correct ports whose only difference is float noise (a
numpy float32 port, float64 accumulation, another exact softmax, another
summation order, fused vs unfused ops). Each case is the tensor where the
port first diverges: a REF and an OURS tensor written to
<out>/planted.safetensors as "<case>/ref" and "<case>/ours", and a line in
<out>/manifest.json:
    name     case name
    expect   the hint kind refcmp's diagnosis must put first ("noise" for
             the correct ports, which must also carry no cause-naming hint)
    about    the bug, in words
    facts    numbers the Go tests cross-check against the detectors
             (fitted per-axis offsets and scales, the permutation, the band
             offset), computed here with numpy

--seed and --size other give cases of other shapes and values (the Go test
generates those at test time when python is present, so the detectors are
not tuned to the committed fixtures). Needs numpy and torch.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcmp_io  # noqa: E402

F32_RTOL, F32_ATOL = 1.3e-6, 1e-5


class Dims:
    def __init__(self, size):
        if size == "small":
            self.B, self.T, self.C, self.H = 2, 16, 64, 4
            self.N, self.CC, self.HW = 2, 8, 8
        elif size == "large":
            self.B, self.T, self.C, self.H = 2, 48, 128, 8
            self.N, self.CC, self.HW = 2, 16, 14
        else:
            self.B, self.T, self.C, self.H = 3, 12, 48, 3
            self.N, self.CC, self.HW = 3, 6, 10
        self.D = self.C // self.H


# ---------------------------------------------------------------------------
# the reference models, written plainly so that each bug is a one-line change

def layer_norm(x, w, b, eps=1e-5, unbiased=False, apply_weight=True):
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=unbiased)
    y = (x - mu) / torch.sqrt(var + eps)
    if apply_weight:
        y = y * w
    return y + b


def gelu_erf(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, base=10000.0, interleaved=False):
    # x: [B, H, T, D]; the reference pairs dimension i with i + D/2 (half split).
    D, T = x.shape[-1], x.shape[-2]
    inv = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cos(ang).float(), torch.sin(ang).float()
    if interleaved:
        x1, x2 = x[..., 0::2], x[..., 1::2]
        o1 = x1 * cos - x2 * sin
        o2 = x1 * sin + x2 * cos
        return torch.stack([o1, o2], -1).flatten(-2)
    h = D // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


class Block:
    """GPT-2 style block: LN, causal attention with RoPE, LN, GELU MLP."""

    def __init__(self, d, g):
        C = d.C
        self.d = d
        r = lambda *s, sc=1.0: (torch.randn(*s, generator=g) * sc).float()
        self.x = r(d.B, d.T, C) * (0.5 + torch.rand(d.B, d.T, 1, generator=g) * 3)
        self.ln1_w, self.ln1_b = 1 + 0.3 * r(C), 0.3 * r(C)
        self.ln2_w, self.ln2_b = 1 + 0.3 * r(C), 0.3 * r(C)
        self.w_qkv, self.b_qkv = r(C, 3 * C, sc=C ** -0.5), 0.2 * r(3 * C)
        self.w_o, self.b_o = r(C, C, sc=C ** -0.5), 0.1 * r(C)
        self.w_fc, self.b_fc = r(C, 4 * C, sc=C ** -0.5), 0.2 * r(4 * C)
        self.w_pr, self.b_pr = r(4 * C, C, sc=(4 * C) ** -0.5), 0.1 * r(C)
        self.wpe = r(d.T + 4, C, sc=0.5)

    def run(self, bug=None):
        """The block's named intermediates, with one bug planted."""
        d, out = self.d, {}
        B, T, C, H, D = d.B, d.T, d.C, d.H, d.D
        pos = torch.arange(T) + (1 if bug == "pos_ids_from_1" else 0)
        out["pos_emb"] = self.wpe[pos]
        x = self.x + self.wpe[pos]
        out["embed"] = x
        h = layer_norm(x, self.ln1_w, self.ln1_b,
                       eps=1e-3 if bug == "ln_eps" else 1e-5,
                       unbiased=bug == "ln_unbiased",
                       apply_weight=bug != "ln_no_weight")
        out["ln1"] = h
        qkv = h @ self.w_qkv + (0 if bug == "qkv_no_bias" else self.b_qkv)
        out["qkv"] = qkv
        q, k, v = qkv.split(C, -1)
        if bug == "heads_reshape":
            q = q.reshape(B, H, T, D)  # the bug: a reshape where a permute was needed
        else:
            q = q.view(B, T, H, D).permute(0, 2, 1, 3)
        out["q_heads"] = q
        k = k.view(B, T, H, D).permute(0, 2, 1, 3)
        v = v.view(B, T, H, D).permute(0, 2, 1, 3)
        if bug == "heads_reshape":
            return out
        q = rope(q, base=1000.0 if bug == "rope_base" else 10000.0, interleaved=bug == "rope_interleaved")
        k = rope(k)
        out["q_rope"] = q
        scale = 1.0 / D if bug == "attn_scale" else 1.0 / math.sqrt(D)
        s = (q @ k.transpose(-1, -2)) * scale
        out["scores"] = s
        off = 1 if bug == "mask_off_by_one" else 0
        mask = torch.ones(T, T, dtype=torch.bool).tril(off)
        s = s.masked_fill(~mask, float("-inf"))
        if bug == "softmax_axis":
            p = torch.softmax(s.masked_fill(~mask, -1e9), -2).masked_fill(~mask, 0.0)
        elif bug == "softmax_f16":
            s16 = s.numpy().astype(np.float16)  # the whole softmax in float16 (numpy)
            e16 = np.exp(s16 - s16.max(-1, keepdims=True))
            p = torch.from_numpy((e16 / e16.sum(-1, keepdims=True, dtype=np.float16)).astype(np.float32))
        else:
            p = torch.softmax(s, -1)
        out["probs"] = p
        a = p @ v
        if bug == "one_head":
            a = a.clone()
            a[:, 2] = p[:, 2] @ v[:, 1]  # head 2 reads head 1's values
        if bug == "pad_batch":
            a = a.clone()
            a[1, :, 11:] = p[1, :, 11:] @ (v[1] * 0.5)  # padded positions of batch 1 handled wrong
        out["attn_heads"] = a
        a = a.permute(0, 2, 1, 3).reshape(B, T, C)
        o = a @ self.w_o + self.b_o
        if bug == "colmajor":
            o2 = o.reshape(B * T, C)
            # a column-major buffer read as row-major with the same shape
            o2 = torch.from_numpy(np.asfortranarray(o2.numpy()).ravel(order="K").reshape(B * T, C).copy())
            out["attn_out"] = o2
            return out
        out["attn_out"] = o.reshape(B * T, C)
        x = x + o
        h = layer_norm(x, self.ln2_w, self.ln2_b)
        f = h @ self.w_fc + self.b_fc * (2 if bug == "fc_bias_twice" else 1)
        out["fc"] = f
        act = {
            "gelu_tanh": gelu_tanh,
            "gelu_sigmoid": lambda z: z * torch.sigmoid(1.702 * z),
            "silu_for_gelu": F.silu,
        }.get(bug, gelu_erf)(f)
        out["act"] = act
        m = (act @ self.w_pr + self.b_pr) * (-1 if bug == "proj_sign" else 1)
        out["mlp"] = m
        out["block"] = x + m
        return out


class ConvNet:
    """conv -> BatchNorm (eval) -> SiLU -> conv -> flatten -> linear."""

    def __init__(self, d, g):
        self.d = d
        C, CC = 3, d.CC
        r = lambda *s, sc=1.0: (torch.randn(*s, generator=g) * sc).float()
        self.x = r(d.N, C, d.HW, d.HW)
        self.w1, self.b1 = r(CC, C, 3, 3, sc=(9 * C) ** -0.5), 0.1 * r(CC)
        self.gamma, self.beta = 1 + 0.3 * r(CC), 0.3 * r(CC)
        self.rmean, self.rvar = 0.2 * r(CC), 0.5 + torch.rand(CC, generator=g)
        self.w2, self.b2 = r(4, CC, 3, 3, sc=(9 * CC) ** -0.5), 0.1 * r(4)

    def run(self, bug=None):
        d, out = self.d, {}
        pad = "replicate" if bug == "conv_pad_mode" else "zeros"
        if pad == "zeros":
            c = F.conv2d(self.x, self.w1, self.b1, padding=1)
        else:
            c = F.conv2d(F.pad(self.x, (1, 1, 1, 1), mode="replicate"), self.w1, self.b1)
        if bug == "one_channel":
            c = c.clone()
            c[:, 3] = F.conv2d(self.x, self.w1[3:4].flip(-1), self.b1[3:4], padding=1)[:, 0]
        out["conv1"] = c
        if bug == "bn_batch_stats":
            mean, var = c.mean((0, 2, 3)), c.var((0, 2, 3), unbiased=False)
        else:
            mean, var = self.rmean, self.rvar
        eps = 1e-3 if bug == "bn_eps" else 1e-5
        bn = (c - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + eps)
        bn = bn * self.gamma[None, :, None, None] + self.beta[None, :, None, None]
        out["bn"] = bn
        act = {
            "silu_hardswish": F.hardswish,
            "silu_fast_sigmoid": lambda z: z * (0.5 + 0.5 * z / (1 + z.abs())),
        }.get(bug, F.silu)(bn)
        out["act"] = act
        c2 = F.conv2d(act, self.w2, self.b2, padding=1)
        if bug == "nhwc_as_nchw":
            # an NHWC buffer declared NCHW with the same dims
            c2 = c2.permute(0, 2, 3, 1).reshape(c2.shape).contiguous()
        if bug == "never_written":
            c2 = torch.zeros_like(c2)
        out["conv2"] = c2
        if bug == "flatten_hwc":
            out["flat"] = c2.permute(0, 2, 3, 1).reshape(d.N, -1)
        else:
            out["flat"] = c2.reshape(d.N, -1)
        return out


# ---------------------------------------------------------------------------
# correct ports: the same math, other float rounding

def numpy_block(blk):
    """The reference block re-written in numpy float32 (embed -> block out)."""
    d = blk.d
    B, T, C, H, D = d.B, d.T, d.C, d.H, d.D
    n = lambda t: t.numpy().astype(np.float32)
    x = n(blk.x) + n(blk.wpe)[:T]

    def ln(z, w, b):
        mu = z.mean(-1, keepdims=True, dtype=np.float32)
        var = ((z - mu) ** 2).mean(-1, keepdims=True, dtype=np.float32)
        return (z - mu) / np.sqrt(var + np.float32(1e-5)) * w + b

    h = ln(x, n(blk.ln1_w), n(blk.ln1_b))
    qkv = h @ n(blk.w_qkv) + n(blk.b_qkv)
    q, k, v = np.split(qkv, 3, -1)
    q, k, v = (t.reshape(B, T, H, D).transpose(0, 2, 1, 3) for t in (q, k, v))
    q, k = n(rope(torch.from_numpy(np.ascontiguousarray(q)))), n(rope(torch.from_numpy(np.ascontiguousarray(k))))
    s = q @ k.transpose(0, 1, 3, 2) * np.float32(1 / math.sqrt(D))
    s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf).astype(np.float32)
    e = np.exp(s - s.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    a = (p @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
    x = x + a @ n(blk.w_o) + n(blk.b_o)
    h = ln(x, n(blk.ln2_w), n(blk.ln2_b))
    f = h @ n(blk.w_fc) + n(blk.b_fc)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    act = (0.5 * f * (1 + erf(f / math.sqrt(2)))).astype(np.float32)
    return x + act @ n(blk.w_pr) + n(blk.b_pr)


def noise_cases(blk, net, g):
    d = blk.d
    ref = blk.run()
    cases = []
    cases.append(("noise_numpy_block", ref["block"], torch.from_numpy(numpy_block(blk)),
                  "a numpy float32 port of the whole block"))
    h = ref["ln1"]
    f64 = (h.double() @ blk.w_qkv.double() + blk.b_qkv.double()).float()
    cases.append(("noise_f64_accumulation", ref["qkv"], f64,
                  "the qkv matmul accumulated in float64, rounded to float32 (more accurate)"))
    s = ref["scores"] + torch.triu(torch.full((d.T, d.T), float("-inf")), 1)
    lse = torch.exp(s - torch.logsumexp(s, -1, keepdim=True))
    cases.append(("noise_softmax_logsumexp", ref["probs"], lse,
                  "softmax as exp(x - logsumexp(x)) instead of exp(x - max) / sum"))
    x = ref["embed"].numpy()
    mu = x[..., ::-1].cumsum(-1, dtype=np.float32)[..., -1:] / np.float32(d.C)
    var = (((x - mu) ** 2)[..., ::-1].cumsum(-1, dtype=np.float32)[..., -1:]) / np.float32(d.C)
    ln = (x - mu) / np.sqrt(var + np.float32(1e-5)) * blk.ln1_w.numpy() + blk.ln1_b.numpy()
    cases.append(("noise_summation_order", ref["ln1"], torch.from_numpy(ln.astype(np.float32)),
                  "LayerNorm statistics summed sequentially from the last element"))
    fused = torch.addmm(blk.b_fc, ref["ln1"].reshape(-1, d.C), blk.w_fc).reshape(d.B, d.T, -1)
    unf = ref["ln1"] @ blk.w_fc + blk.b_fc
    cases.append(("noise_fused_addmm", unf, fused, "fused addmm vs matmul then bias add"))
    cr = net.run()["conv1"]
    xn = net.x.numpy()
    N, Ci, Hh, Ww = xn.shape
    xp = np.pad(xn, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, :, i:i + Hh, j:j + Ww] for i in range(3) for j in range(3)], 2)  # N, Ci, 9, H, W
    w = net.w1.numpy().reshape(net.w1.shape[0], Ci, 9)
    im2col = np.einsum("nckhw,ock->nohw", cols, w, optimize=True) + net.b1.numpy()[None, :, None, None]
    cases.append(("noise_conv_im2col", cr, torch.from_numpy(im2col.astype(np.float32)),
                  "a numpy im2col convolution vs torch conv2d"))
    return cases


# ---------------------------------------------------------------------------

BUGS = [
    # name, model, tensor, expected kind, about
    ("qkv_no_bias", "block", "qkv", "channel_offset", "the qkv linear without its bias"),
    ("fc_bias_twice", "block", "fc", "channel_offset", "the MLP fc bias added twice"),
    ("ln_no_weight", "block", "ln1", "channel_affine", "LayerNorm weight not applied"),
    ("ln_eps", "block", "ln1", "norm_stats", "LayerNorm eps 1e-3 instead of 1e-5"),
    ("ln_unbiased", "block", "ln1", "norm_stats", "LayerNorm with unbiased variance"),
    ("bn_eps", "conv", "bn", "channel_affine", "BatchNorm eps 1e-3 instead of 1e-5"),
    ("bn_batch_stats", "conv", "bn", "channel_affine", "BatchNorm with batch instead of running statistics"),
    ("mask_off_by_one", "block", "probs", "band", "causal mask offset by one (tril(1))"),
    ("softmax_axis", "block", "probs", "norm_axis", "softmax over the query axis instead of the key axis"),
    ("heads_reshape", "block", "q_heads", "reordered", "heads split with a reshape where a permute was needed"),
    ("colmajor", "block", "attn_out", "reordered", "a column-major buffer read as row-major"),
    ("nhwc_as_nchw", "conv", "conv2", "reordered", "an NHWC buffer declared NCHW with the same shape"),
    ("flatten_hwc", "conv", "flat", "reordered", "a flatten in HWC order instead of CHW"),
    ("rope_interleaved", "block", "q_rope", "position", "RoPE pairs interleaved instead of half-split"),
    ("rope_base", "block", "q_rope", "position", "RoPE base 1000 instead of 10000"),
    ("gelu_tanh", "block", "act", "elementwise", "GELU with the tanh approximation instead of erf"),
    ("gelu_sigmoid", "block", "act", "elementwise", "GELU as x*sigmoid(1.702x) instead of erf"),
    ("silu_for_gelu", "block", "act", "elementwise", "SiLU where GELU was needed"),
    ("silu_hardswish", "conv", "act", "elementwise", "hard-swish where SiLU was needed"),
    ("silu_fast_sigmoid", "conv", "act", "elementwise", "SiLU with a fast x/(1+|x|) sigmoid"),
    ("softmax_f16", "block", "probs", "rounding", "softmax computed in float16"),
    ("pad_batch", "block", "attn_heads", "confined", "positions from 11 of batch 1 (padding) handled wrong"),
    ("one_head", "block", "attn_heads", "confined", "head 2 reads head 1's values"),
    ("one_channel", "conv", "conv1", "confined", "channel 3's kernel flipped"),
    ("attn_scale", "block", "scores", "scaled", "attention scores scaled by 1/D instead of 1/sqrt(D)"),
    ("proj_sign", "block", "mlp", "sign_flip", "the MLP output negated (a sign convention of the port)"),
    ("pos_ids_from_1", "block", "pos_emb", "shifted", "position ids starting at 1"),
    ("conv_pad_mode", "conv", "conv1", "border", "replicate padding instead of zeros"),
    ("never_written", "conv", "conv2", "zeros", "the output buffer never written"),
]


def facts_for(name, ref, ours, models):
    """Numbers the Go tests check the detectors against (numpy)."""
    r, o = ref.double().numpy(), ours.double().numpy()
    blk, net = models
    f = {}
    if name == "qkv_no_bias":
        f["axis"] = 2
        f["offsets"] = (-blk.b_qkv.double().numpy()).tolist()
        f["fitted_offsets"] = (o - r).reshape(-1, r.shape[-1]).mean(0).tolist()
    if name == "fc_bias_twice":
        f["axis"] = 2
        f["offsets"] = blk.b_fc.double().numpy().tolist()
    if name == "ln_no_weight":
        f["axis"] = 2
        f["scales"] = (1 / blk.ln1_w.double().numpy()).tolist()
    if name in ("bn_eps", "bn_batch_stats"):
        f["axis"] = 1
        rr = r.transpose(1, 0, 2, 3).reshape(r.shape[1], -1)
        oo = o.transpose(1, 0, 2, 3).reshape(o.shape[1], -1)
        f["scales"] = [float(np.polyfit(rr[c], oo[c], 1)[0]) for c in range(r.shape[1])]
        f["offsets"] = [float(np.polyfit(rr[c], oo[c], 1)[1]) for c in range(r.shape[1])]
    if name == "mask_off_by_one":
        f["band"] = 1
    if name == "softmax_axis":
        f["ref_axis"], f["ours_axis"] = 3, 2
    if name == "ln_unbiased":
        n = r.shape[-1]
        f["factor"] = math.sqrt((n - 1) / n)
    if name in ("pad_batch", "one_head", "one_channel"):
        bad = np.argwhere(np.abs(o - r) > F32_ATOL + F32_RTOL * np.abs(r))
        f["box_lo"] = bad.min(0).tolist()
        f["box_hi"] = bad.max(0).tolist()
    return f


def perm_facts(name, ref_tensor, ours_tensor, d):
    """For the reorder cases, the C-order index map ours.flat[j] = ref.flat[map[j]]
    checked by numpy, as (fine shape, permutation)."""
    r, o = ref_tensor.numpy(), ours_tensor.numpy()
    if name == "heads_reshape":
        fine, perm = [d.B, d.H, d.T, d.D], [0, 2, 1, 3]
    elif name == "colmajor":
        fine, perm = list(r.shape), [1, 0]
    elif name == "nhwc_as_nchw":
        fine, perm = list(r.shape), [0, 2, 3, 1]
    elif name == "flatten_hwc":
        fine, perm = [d.N, 4, d.HW, d.HW], [0, 2, 3, 1]
    else:
        return {}
    got = r.reshape(fine).transpose(perm).reshape(r.shape)
    assert np.array_equal(got, o), name
    return {"fine_shape": fine, "perm": perm}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="testdata/planted")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", default="small", choices=["small", "other", "large"])
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    d = Dims(args.size)
    blk, net = Block(d, g), ConvNet(d, g)
    tensors, manifest = {}, []
    refs = {"block": blk.run(), "conv": net.run()}
    with torch.no_grad():
        for name, model, tname, kind, about in BUGS:
            ours = (blk if model == "block" else net).run(name)[tname].float().contiguous()
            ref = refs[model][tname].float().contiguous()
            assert ours.shape == ref.shape, (name, ours.shape, ref.shape)
            if torch.equal(ours, ref) or torch.allclose(ours, ref, rtol=F32_RTOL, atol=F32_ATOL):
                sys.exit("planted bug %s leaves %s within tolerance" % (name, tname))
            facts = facts_for(name, ref, ours, (blk, net))
            facts.update(perm_facts(name, ref, ours, d))
            tensors[name + "/ref"], tensors[name + "/ours"] = ref, ours
            manifest.append({"name": name, "tensor": tname, "expect": kind, "about": about, "facts": facts})
        for name, ref, ours, about in noise_cases(blk, net, g):
            ref, ours = ref.float().contiguous(), ours.float().contiguous()
            assert not torch.equal(ref, ours), name
            tensors[name + "/ref"], tensors[name + "/ours"] = ref, ours
            manifest.append({"name": name, "tensor": name, "expect": "noise", "about": about, "facts": {}})
    os.makedirs(args.out, exist_ok=True)
    refcmp_io.write_safetensors(os.path.join(args.out, "planted.safetensors"), tensors)
    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump({"seed": args.seed, "size": args.size, "cases": manifest}, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
