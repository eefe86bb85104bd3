#!/usr/bin/env python3
"""Generate refcmp's worked porting example under testdata/porting/.

A tiny decoder-only transformer (one Llama-style block: token embedding,
RMSNorm, 4-head causal self-attention with q/k/v/o projections, GELU MLP,
final RMSNorm, LM head; d=32, head_dim=8, vocab=64, 8 tokens) is the
reference. Two simulated ports of it each carry one realistic bug:

  port            attention scores are not multiplied by 1/sqrt(head_dim)
                  (and its loaded-weights list names every weight with a
                  "model." prefix, which `refcmp weights --map` fixes)
  port_transposed o_proj's weight is loaded transposed (a [out, in] vs
                  [in, out] layout mix-up; the matrix is square, so the
                  header-level weights check cannot see it)

Weights come from a fixed pure-Python generator (splitmix64), so they are
the same bytes on every machine and torch version; activations are computed
on CPU with one thread and deterministic algorithms. Running the script
twice gives byte-identical files.

The model factories are importable for dump_activations.py / dump_weights.py:

  dump_activations.py scripts/make_example.py:build_reference -o ref.safetensors
  dump_activations.py scripts/make_example.py:build_port -o port.safetensors
  dump_weights.py scripts/make_example.py:build_reference
"""

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcmp_io  # noqa: E402
from dump_activations import record_activations, write_activations  # noqa: E402
from dump_weights import write_manifest  # noqa: E402

CONFIG = dict(vocab=64, d=32, heads=4, ffn=64, layers=1, seq=8, eps=1e-5)
SEED = 20240613

# Files this script writes, and which of them hold activations (computed by
# torch's CPU kernels, so their last bits may differ on another CPU/BLAS).
FILES = (
    "model.safetensors",
    "expected_weights.txt",
    "input_ids.npy",
    "ref_activations.safetensors",
    "port_activations.safetensors",
    "port_loaded.txt",
    "port_transposed_activations.safetensors",
    "port_transposed_weights.safetensors",
    "expected_findings.json",
)
ACTIVATION_FILES = ("ref_activations.safetensors", "port_activations.safetensors",
                    "port_transposed_activations.safetensors")


# ---------------------------------------------------------------------------
# the model

class HookPoint(nn.Identity):
    """Names an intermediate value (as TransformerLens does) so that forward
    hooks, and so dump_activations.py, can record it."""


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Attention(nn.Module):
    def __init__(self, d, heads, scale_scores=True):
        super().__init__()
        self.heads = heads
        self.head_dim = d // heads
        self.scale_scores = scale_scores
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.scores = HookPoint()   # q.k^T / sqrt(head_dim), before the causal mask
        self.probs = HookPoint()    # softmax over keys, after the mask
        self.context = HookPoint()  # probs @ v with heads merged back: [B, T, d]
        self.o_proj = nn.Linear(d, d, bias=False)

    def forward(self, x):
        b, t, d = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        s = q @ k.transpose(-2, -1)
        if self.scale_scores:
            s = s * (1.0 / math.sqrt(self.head_dim))
        s = self.scores(s)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        p = self.probs(torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1))
        ctx = self.context((p @ v).transpose(1, 2).reshape(b, t, d))
        return self.o_proj(ctx)


class MLP(nn.Module):
    def __init__(self, d, ffn):
        super().__init__()
        self.up_proj = nn.Linear(d, ffn, bias=False)
        self.act = nn.GELU()
        self.down_proj = nn.Linear(ffn, d, bias=False)

    def forward(self, x):
        return self.down_proj(self.act(self.up_proj(x)))


class Block(nn.Module):
    def __init__(self, cfg, scale_scores=True):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["d"], cfg["eps"])
        self.self_attn = Attention(cfg["d"], cfg["heads"], scale_scores)
        self.post_attention_layernorm = RMSNorm(cfg["d"], cfg["eps"])
        self.mlp = MLP(cfg["d"], cfg["ffn"])

    def forward(self, x):
        h = x + self.self_attn(self.input_layernorm(x))
        return h + self.mlp(self.post_attention_layernorm(h))


class TinyLM(nn.Module):
    def __init__(self, cfg=CONFIG, scale_scores=True):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab"], cfg["d"])
        self.layers = nn.ModuleList(Block(cfg, scale_scores) for _ in range(cfg["layers"]))
        self.norm = RMSNorm(cfg["d"], cfg["eps"])
        self.lm_head = nn.Linear(cfg["d"], cfg["vocab"], bias=False)

    def forward(self, input_ids):
        x = self.embed_tokens(input_ids)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))


# ---------------------------------------------------------------------------
# deterministic values, the same on every platform

class SplitMix64:
    """A tiny integer PRNG: exact, so weights do not depend on torch's RNG."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def uniform(self, n, lo, hi):
        """n floats in [lo, hi): 53 random bits each, exact in binary64."""
        return [lo + (hi - lo) * ((self.next() >> 11) * 2.0 ** -53) for _ in range(n)]


def reference_state_dict(cfg=CONFIG, seed=SEED):
    """The reference weights: Linear U(-1/sqrt(fan_in), +), embedding
    U(-sqrt(3), +) (unit variance), norm weights 1 + U(-0.2, 0.2)."""
    rng = SplitMix64(seed)
    sd = OrderedDict()
    for name, p in TinyLM(cfg).state_dict().items():
        n = p.numel()
        if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
            vals = rng.uniform(n, 0.8, 1.2)
        elif name == "embed_tokens.weight":
            vals = rng.uniform(n, -math.sqrt(3), math.sqrt(3))
        else:
            b = 1.0 / math.sqrt(p.shape[1])
            vals = rng.uniform(n, -b, b)
        sd[name] = torch.tensor(vals, dtype=torch.float32).reshape(p.shape)
    return sd


def input_ids(cfg=CONFIG, seed=SEED):
    rng = SplitMix64(seed ^ 0x5EED)
    return torch.tensor([[rng.next() % cfg["vocab"] for _ in range(cfg["seq"])]], dtype=torch.int64)


def example_inputs():
    """The input dump_activations.py uses when given no --input."""
    return input_ids()


def _setup_torch():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def build_reference():
    """The reference model with the example's weights."""
    _setup_torch()
    m = TinyLM(CONFIG)
    m.load_state_dict(reference_state_dict())
    return m.eval()


def build_port():
    """Port 1: forgets to scale the attention scores by 1/sqrt(head_dim)."""
    _setup_torch()
    m = TinyLM(CONFIG, scale_scores=False)
    m.load_state_dict(reference_state_dict())
    return m.eval()


def port_transposed_state_dict():
    """What port 2 holds after loading: o_proj's [out, in] matrix read as
    [in, out]."""
    sd = reference_state_dict()
    for name in sd:
        if name.endswith("self_attn.o_proj.weight"):
            sd[name] = sd[name].t().contiguous()
    return sd


def build_port_transposed():
    """Port 2: correct code, but o_proj's weight loaded transposed."""
    _setup_torch()
    m = TinyLM(CONFIG)
    m.load_state_dict(port_transposed_state_dict())
    return m.eval()


# ---------------------------------------------------------------------------
# writing the example

def port_loaded_listing(sd):
    """The port's own log of what it loaded, as a PyTorch-minded port
    prints it (`print(name, p.shape, p.dtype)`), under its own names."""
    lines = ["# weights loaded by the port (its names carry a 'model.' prefix)"]
    for name, t in sd.items():
        lines.append("model.%s %s %s" % (name, "torch.Size(%s)" % list(t.shape), t.dtype))
    return "\n".join(lines) + "\n"


# torch.testing.assert_close's float32 defaults, refcmp's too.
F32_RTOL, F32_ATOL = 1.3e-6, 1e-5


def _compare(ref, ours, sequence=True):
    """What refcmp should find comparing two dumps (OrderedDicts in
    execution order) with the default float32 tolerance. Without sequence
    (a checkpoint has no execution order) only the failing names count."""
    fails = [k for k in ref if not torch.allclose(ours[k], ref[k], rtol=F32_RTOL, atol=F32_ATOL)]
    out = OrderedDict([("pass", not fails), ("tensors", len(ref)), ("failing", len(fails))])
    if fails and not sequence:
        out["failing_names"] = fails
    elif fails:
        first = fails[0]
        i = list(ref).index(first)
        out["first_failure"] = first
        out["first_failure_index"] = i
        out["passing_before"] = sum(1 for k in list(ref)[:i] if k not in fails)
        out["bit_identical_before"] = all(torch.equal(ref[k], ours[k]) for k in list(ref)[:i])
        out["failing_names"] = fails
    return out


def findings(sd, acts):
    """expected_findings.json: what each refcmp command in the README should
    report, computed from the generated data (hint kinds by construction)."""
    ref = acts["ref_activations.safetensors"]
    port = _compare(ref, acts["port_activations.safetensors"])
    r = ref[port["first_failure"]].double()
    o = acts["port_activations.safetensors"][port["first_failure"]].double()
    k = float((r * o).sum() / (r * r).sum())
    head_dim = CONFIG["d"] // CONFIG["heads"]
    port["hint"] = OrderedDict([("kind", "scaled"), ("k", round(k, 6)),
                                ("constant", "sqrt(%d)" % head_dim), ("constant_value", round(math.sqrt(head_dim), 6))])
    tr = _compare(ref, acts["port_transposed_activations.safetensors"])
    wt = _compare(sd, port_transposed_state_dict(), sequence=False)
    wt["hint"] = OrderedDict([("kind", "transposed")])
    same = _compare(ref, ref)
    return OrderedDict([
        ("weights", [
            OrderedDict([("args", ["model.safetensors", "port_loaded.txt"]), ("exit", 1),
                         ("missing", len(sd)), ("unexpected", len(sd)), ("suggested_map", "^model\\.=")]),
            OrderedDict([("args", ["model.safetensors", "port_loaded.txt", "--map", "^model\\.="]), ("exit", 0)]),
            OrderedDict([("args", ["expected_weights.txt", "port_loaded.txt", "--map", "^model\\.="]), ("exit", 0)]),
            OrderedDict([("args", ["model.safetensors", "port_transposed_weights.safetensors"]), ("exit", 0)]),
        ]),
        ("tensors", [
            OrderedDict([("args", ["ref_activations.safetensors", "port_activations.safetensors"]),
                         ("exit", 1)] + list(port.items())),
            OrderedDict([("args", ["ref_activations.safetensors", "port_transposed_activations.safetensors"]),
                         ("exit", 1)] + list(tr.items())),
            OrderedDict([("args", ["model.safetensors", "port_transposed_weights.safetensors"]),
                         ("exit", 1)] + list(wt.items())),
            OrderedDict([("args", ["ref_activations.safetensors", "ref_activations.safetensors"]),
                         ("exit", 0)] + list(same.items())),
        ]),
    ])


def generate(outdir):
    """Write every file of FILES into outdir."""
    _setup_torch()
    os.makedirs(outdir, exist_ok=True)
    sd = reference_state_dict()
    ids = input_ids()
    refcmp_io.write_safetensors(os.path.join(outdir, "model.safetensors"), sd)
    write_manifest(sd, os.path.join(outdir, "expected_weights.txt"))
    np.save(os.path.join(outdir, "input_ids.npy"), ids.numpy())

    all_acts = {}
    for fname, model in (("ref_activations.safetensors", build_reference()),
                         ("port_activations.safetensors", build_port()),
                         ("port_transposed_activations.safetensors", build_port_transposed())):
        acts = record_activations(model, ids)
        write_activations(acts, os.path.join(outdir, fname), use_package=False)
        all_acts[fname] = acts

    with open(os.path.join(outdir, "port_loaded.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write(port_loaded_listing(sd))
    refcmp_io.write_safetensors(os.path.join(outdir, "port_transposed_weights.safetensors"),
                                port_transposed_state_dict())
    with open(os.path.join(outdir, "expected_findings.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(findings(sd, all_acts), f, indent=1)
        f.write("\n")


def check(outdir):
    """Regenerate into a temporary directory and compare with outdir:
    weights and listings byte for byte; activations byte for byte, or
    within 1e-5 relative when another CPU's kernels round differently.
    Returns a list of problems (empty when all agree)."""
    problems = []
    tmp = tempfile.mkdtemp(prefix="refcmp_example_")
    try:
        generate(tmp)
        for name in FILES:
            want = os.path.join(outdir, name)
            got = os.path.join(tmp, name)
            if not os.path.exists(want):
                problems.append("%s: missing" % want)
                continue
            with open(want, "rb") as a, open(got, "rb") as b:
                if a.read() == b.read():
                    continue
            if name not in ACTIVATION_FILES:
                problems.append("%s: differs from a fresh run" % want)
                continue
            wt, wm = refcmp_io.read_safetensors(want, backend="numpy")
            gt, gm = refcmp_io.read_safetensors(got, backend="numpy")
            if list(wt) != list(gt) or wm != gm:
                problems.append("%s: tensor names or order differ from a fresh run" % want)
                continue
            for k in wt:
                if wt[k].shape != gt[k].shape or not np.allclose(wt[k], gt[k], rtol=1e-5, atol=1e-6):
                    problems.append("%s: tensor %s differs from a fresh run" % (want, k))
            print("make_example.py: note: %s differs from a fresh run only in rounding" % want,
                  file=sys.stderr)
    finally:
        shutil.rmtree(tmp)
    return problems


def default_outdir():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "porting")


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="make_example.py",
        description="Generate refcmp's worked porting example: a tiny transformer's reference weights "
                    "and activations, and two buggy ports' dumps (missing attention scaling; "
                    "transposed o_proj).",
        epilog="files: " + ", ".join(FILES) + "\n\nSee testdata/porting/README.md for the walk-through.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--outdir", default=default_outdir(),
                    help="output directory (default: testdata/porting beside scripts/)")
    ap.add_argument("--check", action="store_true",
                    help="do not write; regenerate in a temporary directory and compare with OUTDIR (exit 1 on a difference)")
    args = ap.parse_args(argv)
    if args.check:
        problems = check(args.outdir)
        for p in problems:
            print("make_example.py: %s" % p, file=sys.stderr)
        if problems:
            return 1
        print("make_example.py: %s is up to date" % args.outdir, file=sys.stderr)
        return 0
    generate(args.outdir)
    total = sum(os.path.getsize(os.path.join(args.outdir, f)) for f in FILES)
    print("make_example.py: wrote %d files (%d bytes) to %s" % (len(FILES), total, args.outdir), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
