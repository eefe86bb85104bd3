#!/usr/bin/env python3
"""Dump every module output of one forward pass, in execution order, for
`refcmp tensors`.

Forward hooks on the model's modules (optionally filtered by a regex on the
module name) record each output as it is produced. A module's output is
recorded when the module returns, so children come before their parent:
the order is the order in which the tensors came into being, which is what
`refcmp tensors` needs to name the first tensor that goes wrong.

Naming: the module's name from named_modules() (`layers.0.self_attn.q_proj`);
tuple/list outputs add the position (`name.0`, `name.1`), dict outputs the
key (`name.logits`); non-tensor outputs (None, ints...) are skipped. A module
called again in the same pass gives `name#1`, `name#2`, ... The root module
is skipped unless root_name is given.

Output: `.safetensors` with `__metadata__` {"refcmp.order": JSON list of the
names in execution order}, written by the `safetensors` package when it is
installed and by refcmp's pure-Python writer otherwise; or `.npz` (members
in execution order; bfloat16 widened to float32, since numpy has no bf16).

As a library:

    from dump_activations import dump_activations
    names = dump_activations(model, input_ids, "ref.safetensors", filter=r"layers\\.0\\.")
"""

import argparse
import json
import os
import re
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcmp_io  # noqa: E402

EPILOG = """\
examples:
  # model from code, weights from a checkpoint, input from a file
  dump_activations.py mypkg.modeling:TinyLM --weights model.safetensors \\
      --input input_ids.npy -o ref_activations.safetensors
  # only the attention blocks, as npz
  dump_activations.py model.py:build_model --input x.pt --filter 'self_attn' -o attn.npz
  # the worked example (input from the module's example_inputs())
  dump_activations.py scripts/make_example.py:build_reference \\
      --weights testdata/porting/model.safetensors -o ref.safetensors
  # then
  refcmp tensors ref_activations.safetensors port_activations.safetensors

inputs (--input, repeatable, one positional argument each unless noted):
  .npy          one array
  .pt/.pth      a tensor; a list/tuple (several positional args); a dict (keyword args)
  .npz, .safetensors
                members named arr_0, arr_1... are positional args, other names keyword args
  without --input, the model module's example_inputs() is called (it returns a
  tensor, a tuple of positional args or a dict of keyword args).
"""


def _collect(name, out, sink):
    """Append (name, tensor) for every tensor inside a module output."""
    import torch
    if isinstance(out, torch.Tensor):
        sink.append((name, out.detach().to("cpu", copy=True).contiguous()))
    elif isinstance(out, (tuple, list)):
        for i, v in enumerate(out):
            _collect("%s.%d" % (name, i), v, sink)
    elif isinstance(out, dict):
        for k, v in out.items():
            _collect("%s.%s" % (name, k), v, sink)


def _call(model, inputs):
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def record_activations(model, inputs, filter=None, exclude=None, root_name=None):
    """Run model(inputs) once under torch.no_grad() and return an OrderedDict
    name -> tensor (detached CPU copies) of every hooked module output, in
    execution order. inputs is a tensor (model(x)), a tuple/list
    (model(*inputs)) or a dict (model(**inputs)). filter/exclude are regexes
    searched in module names. The model's train/eval mode is left as it is."""
    import torch
    inc = re.compile(filter) if filter else None
    exc = re.compile(exclude) if exclude else None
    sink = []
    calls = {}
    handles = []

    def make_hook(name):
        def hook(module, args, output):
            n = calls.get(name, 0)
            calls[name] = n + 1
            _collect(name if n == 0 else "%s#%d" % (name, n), output, sink)
        return hook

    try:
        for name, module in model.named_modules():
            if name == "":
                if root_name is None:
                    continue
                name = root_name
            if inc is not None and not inc.search(name):
                continue
            if exc is not None and exc.search(name):
                continue
            handles.append(module.register_forward_hook(make_hook(name)))
        with torch.no_grad():
            _call(model, inputs)
    finally:
        for h in handles:
            h.remove()
    out = OrderedDict()
    for name, t in sink:
        if name in out:
            # a tuple member name colliding with another module's name
            k = 1
            while "%s#%d" % (name, k) in out:
                k += 1
            name = "%s#%d" % (name, k)
        out[name] = t
    return out


def write_activations(tensors, path, use_package=True):
    """Write an OrderedDict name -> tensor to path (.safetensors or .npz),
    keeping its order (`refcmp.order` metadata for safetensors)."""
    if str(path).endswith(".npz"):
        import numpy as np
        import torch
        arrays = OrderedDict()
        for name, t in tensors.items():
            if t.dtype == torch.bfloat16 or "float8" in str(t.dtype):
                print("dump_activations.py: %s: %s widened to float32 for .npz" % (name, t.dtype),
                      file=sys.stderr)
                t = t.float()
            arrays[name] = t.numpy()
        np.savez(path, **arrays)
        return
    meta = {"refcmp.order": json.dumps(list(tensors), separators=(",", ":"))}
    save_file = refcmp_io.safetensors_package_save() if use_package else None
    if save_file is not None:
        save_file(OrderedDict((k, v.clone()) for k, v in tensors.items()), str(path), metadata=meta)
    else:
        refcmp_io.write_safetensors(str(path), tensors, metadata=meta)


def dump_activations(model, inputs, path, filter=None, exclude=None, root_name=None, use_package=True):
    """Record every module output of model(inputs) (see record_activations)
    and write them to path (.safetensors or .npz) in execution order.
    Returns the list of tensor names written, in that order."""
    tensors = record_activations(model, inputs, filter=filter, exclude=exclude, root_name=root_name)
    if not tensors:
        raise ValueError("no module output matched (filter=%r, exclude=%r)" % (filter, exclude))
    write_activations(tensors, path, use_package=use_package)
    return list(tensors)


def load_inputs(paths, unsafe=False):
    """Turn --input files into the inputs argument of dump_activations."""
    import numpy as np
    import torch
    args, kwargs = [], OrderedDict()

    def add_named(named):
        for k, v in named.items():
            if re.fullmatch(r"arr_\d+", k):
                args.append(v)
            else:
                kwargs[k] = v

    for p in paths:
        if p.endswith(".npy"):
            args.append(torch.from_numpy(np.load(p, allow_pickle=False)))
        elif p.endswith(".npz"):
            with np.load(p, allow_pickle=False) as z:
                add_named(OrderedDict((k, torch.from_numpy(z[k])) for k in z.files))
        elif p.endswith(".safetensors"):
            add_named(refcmp_io.read_safetensors(p, backend="torch")[0])
        else:
            obj = refcmp_io.torch_load(p, unsafe=unsafe)
            if isinstance(obj, torch.Tensor):
                args.append(obj)
            elif isinstance(obj, (tuple, list)):
                args.extend(obj)
            elif isinstance(obj, dict):
                kwargs.update(obj)
            else:
                raise ValueError("%s: holds a %s; want a tensor, list or dict" % (p, type(obj).__name__))
    if kwargs:
        if args:
            raise ValueError("inputs mix positional and keyword arguments; use one kind")
        return dict(kwargs)
    return args[0] if len(args) == 1 else tuple(args)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="dump_activations.py",
        description="Run one forward pass with hooks on every module and write each module output, "
                    "in execution order, to a .safetensors (with refcmp.order metadata) or .npz file.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="model spec: pkg.module:factory, path/file.py:factory or file.py")
    ap.add_argument("-o", "--output", required=True, help="output file, .safetensors or .npz")
    ap.add_argument("--input", action="append", default=[], metavar="FILE",
                    help="input file (.npy, .npz, .pt, .safetensors); repeatable")
    ap.add_argument("--weights", metavar="CKPT", help="load this state dict into the model first (strict)")
    ap.add_argument("--filter", metavar="REGEX", help="hook only modules whose name matches (re.search)")
    ap.add_argument("--exclude", metavar="REGEX", help="skip modules whose name matches")
    ap.add_argument("--root-name", metavar="NAME", help="also record the whole model's output under NAME")
    ap.add_argument("--dtype", help="cast the model (and float inputs) to this dtype, e.g. bfloat16")
    ap.add_argument("--train", action="store_true", help="run in train mode (default: eval)")
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed before building (default 0)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--kwargs", default="{}", help="JSON keyword arguments for the model factory")
    ap.add_argument("--unsafe", action="store_true", help="allow torch.load to unpickle arbitrary objects")
    ap.add_argument("--no-package", action="store_true",
                    help="use the built-in safetensors writer even when the safetensors package is installed")
    args = ap.parse_args(argv)

    if not (args.output.endswith(".safetensors") or args.output.endswith(".npz")):
        ap.error("--output must end in .safetensors or .npz")
    for r in (args.filter, args.exclude):
        if r:
            try:
                re.compile(r)
            except re.error as e:
                ap.error("bad regex %r: %s" % (r, e))
    try:
        import torch
        torch.manual_seed(args.seed)
        if args.threads:
            torch.set_num_threads(args.threads)
        model, mod = refcmp_io.load_model(args.model, json.loads(args.kwargs))
        if args.weights:
            sd = refcmp_io.load_state_dict_file(args.weights, unsafe=args.unsafe)
            model.load_state_dict(sd, strict=True)
        if args.input:
            inputs = load_inputs(args.input, unsafe=args.unsafe)
        elif hasattr(mod, "example_inputs"):
            inputs = mod.example_inputs()
        else:
            raise ValueError("no --input given and %s defines no example_inputs()" % args.model.rpartition(":")[0])
        if args.dtype:
            dt = getattr(torch, args.dtype.replace("torch.", ""), None)
            if not isinstance(dt, torch.dtype):
                raise ValueError("unknown dtype %r" % args.dtype)
            model = model.to(dt)

            def cast(x):
                return x.to(dt) if isinstance(x, torch.Tensor) and x.is_floating_point() else x
            if isinstance(inputs, dict):
                inputs = {k: cast(v) for k, v in inputs.items()}
            elif isinstance(inputs, tuple):
                inputs = tuple(cast(v) for v in inputs)
            else:
                inputs = cast(inputs)
        model.train(args.train)
        names = dump_activations(model, inputs, args.output, filter=args.filter, exclude=args.exclude,
                                 root_name=args.root_name, use_package=not args.no_package)
    except ImportError as e:
        print("dump_activations.py: %s (this needs torch and numpy: on Debian, apt install python3-torch "
              "python3-numpy and run /usr/bin/python3)" % e, file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, RuntimeError, refcmp_io.FormatError) as e:
        print("dump_activations.py: %s" % e, file=sys.stderr)
        return 2
    print("dump_activations.py: wrote %d tensors to %s" % (len(names), args.output), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
