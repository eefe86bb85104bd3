#!/usr/bin/env python3
"""port_side.py shows how a port written in Python with numpy writes its
side for refcmp: the loaded-weights manifest, a raw .bin with its sidecar
JSON, a .npy file, and every activation of a forward pass in one .npz
(np.savez keeps the order they were passed in, which refcmp takes as the
execution order) or one .safetensors (refcmp_io.write_safetensors, with
the order in its metadata). numpy only. Usage: port_side.py OUTDIR
"""

import json
import os
import sys

import numpy as np

# scripts/refcmp_io.py, refcmp's pure-Python safetensors writer.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "scripts"))
from refcmp_io import write_safetensors  # noqa: E402


def write_manifest(path, weights):
    """One line per weight the port loaded: `name [d0, d1] dtype`."""
    with open(path, "w") as f:
        for name, w in weights.items():
            f.write("%s [%s] %s\n" % (name, ", ".join(str(d) for d in w.shape), w.dtype))


def write_raw(path, x):
    """Little-endian C-order data, plus the sidecar `<path>.json`."""
    x = np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("<"))
    x.tofile(path)
    with open(path + ".json", "w") as f:
        json.dump({"dtype": {"float32": "F32", "float16": "F16", "float64": "F64"}[x.dtype.name], "shape": list(x.shape)}, f)


def write_activations(outdir, acts):
    """acts: (name, array) pairs in execution order, as the forward pass
    computed them. Both files keep that order."""
    np.savez(os.path.join(outdir, "acts.npz"), **dict(acts))
    write_safetensors(os.path.join(outdir, "acts.safetensors"), acts,
                      {"refcmp.order": json.dumps([n for n, _ in acts])})


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: port_side.py OUTDIR")
    outdir = sys.argv[1]
    weights = {"model.embed_tokens.weight": np.zeros((64, 32), np.float32),
               "model.lm_head.weight": np.zeros((64, 32), np.float32)}
    write_manifest(os.path.join(outdir, "loaded.txt"), weights)
    x = (np.arange(6, dtype=np.float32) / 4).reshape(2, 3)
    write_raw(os.path.join(outdir, "x.bin"), x)
    np.save(os.path.join(outdir, "x.npy"), x)
    h = x @ np.ones((3, 4), np.float32)
    acts = [("layers.10.out", h), ("layers.2.out", np.tanh(h)), ("logits", h.sum(axis=1))]
    write_activations(outdir, acts)


if __name__ == "__main__":
    main()
