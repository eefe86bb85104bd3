#!/usr/bin/env python3
"""Write the weights manifest `refcmp weights` reads: one line per weight,
`name [d0, d1] dtype`, or with --json {"name": {"shape": [...], "dtype": "F32"}}.

The source is a checkpoint (.safetensors, a sharded *.index.json, a
directory of shards, .pt/.pth/.bin, .npz) or Python code that builds the
model (`pkg.module:factory`, `path/to/file.py:factory`, or `file.py`
defining build_model/make_model/create_model/get_model/model/Model).
Safetensors sources are read from the header alone and need neither torch
nor numpy.

As a library:

    from dump_weights import write_manifest
    write_manifest(model_or_state_dict, "expected.txt")          # text
    write_manifest(model_or_state_dict, "expected.json", fmt="json")
"""

import argparse
import json
import os
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcmp_io  # noqa: E402

EPILOG = """\
examples:
  # the reference's expected list, from its checkpoint (header only)
  dump_weights.py model.safetensors -o expected.txt      # or: dump_weights.py model.safetensors expected.txt
  dump_weights.py checkpoints/model.safetensors.index.json --json -o expected.json
  dump_weights.py pytorch_model.bin -o expected.txt
  # from the model class itself (random init is fine: only names/shapes/dtypes)
  dump_weights.py mypkg.modeling:TinyLM -o expected.txt
  dump_weights.py scripts/make_example.py:build_reference
  # then
  refcmp weights expected.txt port_loaded.txt

output: text lines `name [d0, d1] dtype` (dtype spelled as torch does:
float32, bfloat16, ...; a scalar is `[]`), or JSON with safetensors dtypes.
Order is the source's: state_dict order, or file-data order for safetensors.
"""


def entries_from(obj, params_only=False):
    """(name, shape, dtype) triples from an nn.Module, a state dict (name ->
    torch tensor / numpy array) or a list of such triples."""
    if isinstance(obj, list):
        return [(n, list(s), d) for n, s, d in obj]
    try:
        import torch
        if isinstance(obj, torch.nn.Module):
            obj = OrderedDict(obj.named_parameters()) if params_only else obj.state_dict()
    except ImportError:
        pass
    out = []
    for name, t in obj.items():
        shape = [int(d) for d in t.shape]
        out.append((name, shape, refcmp_io.dtype_name(t.dtype)))
    return out


def render(entries, fmt="text"):
    if fmt == "json":
        return refcmp_io.manifest_json(entries)
    if fmt != "text":
        raise ValueError("fmt must be 'text' or 'json', not %r" % fmt)
    lines = refcmp_io.manifest_lines(entries)
    return "\n".join(lines) + ("\n" if lines else "")


def write_manifest(model_or_state_dict, path, fmt=None, params_only=False):
    """Write the manifest of an nn.Module (its state_dict(), or only its
    parameters with params_only) or of a state dict to path ("-" is stdout).
    fmt is "text" or "json"; by default json when path ends in .json.
    Returns the number of weights written."""
    if fmt is None:
        fmt = "json" if str(path).endswith(".json") else "text"
    entries = entries_from(model_or_state_dict, params_only=params_only)
    text = render(entries, fmt)
    if path == "-":
        sys.stdout.write(text)
    else:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return len(entries)


def _safetensors_entries(path):
    entries, _, _ = refcmp_io.read_safetensors_header(path)
    return [(n, e["shape"], refcmp_io.ST_DTYPES[e["dtype"]][0]) for n, e in entries.items()]


def _index_entries(path, notes, unsafe):
    with open(path, encoding="utf-8") as f:
        idx = json.load(f, object_pairs_hook=OrderedDict)
    wm = idx.get("weight_map") if isinstance(idx, dict) else None
    if not isinstance(wm, dict):
        raise ValueError("%s: no weight_map object" % path)
    d = os.path.dirname(path)
    shards = []
    for shard in wm.values():
        if shard not in shards:
            shards.append(shard)
    missing = [s for s in shards if not os.path.exists(os.path.join(d, s))]
    if missing:
        raise FileNotFoundError("%s: shard files absent: %s" % (path, ", ".join(missing)))
    by_name = {}
    for shard in shards:
        for n, s, dt in file_entries(os.path.join(d, shard), notes, unsafe):
            by_name[n] = (n, s, dt)
    out = []
    for name, shard in wm.items():
        if name not in by_name:
            raise ValueError("%s: %r is listed for %s, which lacks it" % (path, name, shard))
        out.append(by_name.pop(name))
    for n in sorted(by_name):
        notes.append("%s is in a shard but not in the index" % n)
    return out


def file_entries(path, notes, unsafe=False, key=None):
    """(name, shape, dtype) triples of a checkpoint file or directory."""
    if os.path.isdir(path):
        names = sorted(os.listdir(path))
        for idx in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
            if idx in names:
                return _index_entries(os.path.join(path, idx), notes, unsafe)
        shards = [n for n in names if n.endswith(".safetensors")]
        if not shards:
            shards = [n for n in names if n.endswith((".bin", ".pt", ".pth"))]
        if not shards:
            raise FileNotFoundError("%s: no index, .safetensors or .bin/.pt files" % path)
        out = []
        for s in shards:
            out.extend(file_entries(os.path.join(path, s), notes, unsafe))
        return out
    if path.endswith(".index.json"):
        return _index_entries(path, notes, unsafe)
    if path.endswith(".json"):
        raise ValueError("%s: a JSON file that is not an *.index.json" % path)
    if path.endswith(".safetensors") or _looks_like_safetensors(path):
        return _safetensors_entries(path)
    if path.endswith(".npz"):
        import numpy as np
        with np.load(path, allow_pickle=False) as z:
            return [(k, list(z[k].shape), z[k].dtype.name) for k in z.files]
    obj = refcmp_io.torch_load(path, unsafe=unsafe)
    sd, _ = refcmp_io.find_state_dict(obj, path, key=key, notes=notes)
    return entries_from(sd)


def _looks_like_safetensors(path):
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{" and not head.startswith(b"PK")


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="dump_weights.py",
        description="Write the weights manifest (names, shapes, dtypes) that `refcmp weights` reads, "
                    "from a checkpoint or from the Python model that defines it.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", help="checkpoint file/dir/index, or model spec module:factory | file.py[:factory]")
    ap.add_argument("out", nargs="?", metavar="OUTPUT", help="output file (same as -o)")
    ap.add_argument("-o", "--output", help="output file (default: stdout)")
    ap.add_argument("--json", action="store_true",
                    help="write JSON {name: {shape, dtype}} instead of text (the default for an OUTPUT ending in .json)")
    ap.add_argument("--params-only", action="store_true",
                    help="for a model spec: parameters only, without buffers (state_dict() is the default)")
    ap.add_argument("--key", help="for a .pt: dotted key of the state dict inside the checkpoint (e.g. state_dict)")
    ap.add_argument("--unsafe", action="store_true",
                    help="allow torch.load to unpickle arbitrary objects (only for files you trust)")
    ap.add_argument("--kwargs", default="{}", help="for a model spec: JSON keyword arguments for the factory")
    args = ap.parse_args(argv)
    if args.out and args.output and args.out != args.output:
        ap.error("give the output file once: OUTPUT or -o, not both")
    args.output = args.out or args.output or "-"

    notes = []
    try:
        if refcmp_io.is_model_spec(args.source) and not os.path.isdir(args.source):
            import torch
            torch.manual_seed(0)
            model, _ = refcmp_io.load_model(args.source, json.loads(args.kwargs))
            entries = entries_from(model, params_only=args.params_only)
        else:
            if not os.path.exists(args.source):
                raise FileNotFoundError("%s: no such file or directory" % args.source)
            entries = file_entries(args.source, notes, unsafe=args.unsafe, key=args.key)
        text = render(entries, "json" if args.json or args.output.endswith(".json") else "text")
    except (OSError, ValueError, KeyError, RuntimeError, refcmp_io.FormatError) as e:
        print("dump_weights.py: %s" % (e.args[0] if isinstance(e, KeyError) and e.args else e), file=sys.stderr)
        return 2
    for n in notes:
        print("dump_weights.py: note: %s" % n, file=sys.stderr)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print("dump_weights.py: wrote %d weights to %s" % (len(entries), args.output), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
