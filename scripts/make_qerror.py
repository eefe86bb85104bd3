#!/usr/bin/env python3
"""Measure what each ggml quantization type costs, with ggml's own quantizer.

Writes tensorfile/gguf/qerror.json: for every type refcmp decodes, the
NMSE = sum((x - deq(quant(x)))^2) / sum(x^2) that ggml_quantize_chunk then
to_float (llama.cpp's libggml-base.so, through ggml_oracle.py; no
importance matrix) gives on weight-like data: Gaussian, Student-t (df 5,
heavy tails), Gaussian with per-row scales spread over a decade, and
Gaussian with a few outlier columns (as in LLM projections), each in
several shapes and seeds. The JSON keeps min, median and max per type.

  /usr/bin/python3 scripts/make_qerror.py > tensorfile/gguf/qerror.json
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ggml_oracle  # noqa: E402

TYPES = ["F16", "BF16", "Q8_0", "Q6_K", "Q5_K", "Q5_1", "Q5_0", "Q4_K", "Q4_1", "Q4_0", "Q3_K", "Q2_K"]
SHAPES = [(64, 256), (256, 512), (1024, 1024)]
SEEDS = [0, 1, 2]


def samples():
    for rows, cols in SHAPES:
        for seed in SEEDS:
            rng = np.random.default_rng(seed * 1000 + rows)
            g = rng.standard_normal((rows, cols)) * 0.02
            yield "gaussian", g
            yield "student_t5", rng.standard_t(5, (rows, cols)) * 0.02
            yield "row_scaled", g * np.exp(rng.uniform(-1.15, 1.15, (rows, 1)))
            o = g.copy()
            cols_out = rng.choice(cols, max(1, cols // 128), replace=False)
            o[:, cols_out] *= 20
            yield "outlier_cols", o


def main():
    g = ggml_oracle.Ggml()
    out = {}
    for name in TYPES:
        t = g.type_number(name)
        vals = []
        for _, x in samples():
            x = x.astype("<f4")
            q = g.quantize(t, x.tobytes(), x.shape[1])
            y = np.frombuffer(g.dequantize(t, q, x.size), "<f4").reshape(x.shape)
            x64, y64 = x.astype(np.float64), y.astype(np.float64)
            vals.append(float(((x64 - y64) ** 2).sum() / (x64 ** 2).sum()))
        vals.sort()
        out[name] = {"min": vals[0], "median": vals[len(vals) // 2], "max": vals[-1], "samples": len(vals)}
    doc = {
        "about": "NMSE of ggml quantization (ggml_quantize_chunk then to_float, no imatrix) on "
                 "weight-like data; made by scripts/make_qerror.py",
        "ggml": "libggml-base.so of npm @node-llama-cpp/linux-x64@3.22.1",
        "data": "gaussian, student_t5, row_scaled, outlier_cols x shapes %s x seeds %s" % (SHAPES, SEEDS),
        "types": out,
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
