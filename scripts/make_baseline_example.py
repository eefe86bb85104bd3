#!/usr/bin/env python3
"""make_baseline_example.py: generate testdata/baseline/, the fixtures of
the regression-baseline recipe in docs/ci.md.

Usage (from the repository root):
    /usr/bin/python3 scripts/make_baseline_example.py [--out testdata/baseline]

ref.safetensors holds five float32 activations of a small block, as a
PyTorch reference would dump them. A port that computes in bfloat16 and
writes float32 differs from it by the bfloat16 rounding of each value:
    port_bf16.safetensors  every activation rounded to bfloat16
    port_worse.safetensors the same, but h.1.mlp's error doubled
    port_better.safetensors the same, but h.1.mlp's error halved
(error = port - ref). Only numpy is needed; the rounding is
round-to-nearest-even on the float32 bits, as torch's bfloat16 does.
Deterministic: a fixed seed, and refcmp_io's writer gives the same bytes.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refcmp_io import write_safetensors  # noqa: E402

NAMES = ["embed", "h.0.attn", "h.0.mlp", "h.1.attn", "h.1.mlp"]


def bf16_round(x):
    """x (float32) rounded to bfloat16 and back, nearest even."""
    b = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.astype(np.uint32).view(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="testdata/baseline")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(10)
    ref = [(n, rng.standard_normal((4, 16)).astype(np.float32)) for n in NAMES]
    port = [(n, bf16_round(x)) for n, x in ref]

    def scaled(k):
        out = []
        for (n, r), (_, p) in zip(ref, port):
            if n == "h.1.mlp":
                p = (r.astype(np.float64) + k * (p.astype(np.float64) - r)).astype(np.float32)
            out.append((n, p))
        return out

    meta = {"refcmp.order": ",".join(NAMES)}
    write_safetensors(os.path.join(args.out, "ref.safetensors"), ref, meta)
    write_safetensors(os.path.join(args.out, "port_bf16.safetensors"), port, meta)
    write_safetensors(os.path.join(args.out, "port_worse.safetensors"), scaled(2.0), meta)
    write_safetensors(os.path.join(args.out, "port_better.safetensors"), scaled(0.5), meta)


if __name__ == "__main__":
    main()
