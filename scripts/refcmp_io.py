"""Shared helpers for refcmp's reference-side scripts.

Pure-Python safetensors reading and writing (no `safetensors` package
needed), dtype names, the weights manifest format `refcmp weights` reads,
and loading a model from a `module:factory` or `file.py:factory` spec.

numpy and torch are imported lazily: reading a safetensors header and
writing a manifest from it needs neither.
"""

import importlib
import importlib.util
import json
import os
import struct
import sys
from collections import OrderedDict

# safetensors dtype -> (torch/numpy name used in manifests, numpy dtype or
# None when numpy has no such type, element size in bytes).
ST_DTYPES = OrderedDict([
    ("BOOL", ("bool", "|b1", 1)),
    ("U8", ("uint8", "|u1", 1)),
    ("I8", ("int8", "|i1", 1)),
    ("U16", ("uint16", "<u2", 2)),
    ("I16", ("int16", "<i2", 2)),
    ("U32", ("uint32", "<u4", 4)),
    ("I32", ("int32", "<i4", 4)),
    ("U64", ("uint64", "<u8", 8)),
    ("I64", ("int64", "<i8", 8)),
    ("F8_E4M3", ("float8_e4m3fn", None, 1)),
    ("F8_E5M2", ("float8_e5m2", None, 1)),
    ("F16", ("float16", "<f2", 2)),
    ("BF16", ("bfloat16", None, 2)),
    ("F32", ("float32", "<f4", 4)),
    ("F64", ("float64", "<f8", 8)),
])

# torch / numpy dtype name -> safetensors dtype.
NAME_TO_ST = {v[0]: k for k, v in ST_DTYPES.items()}
NAME_TO_ST.update({"float8_e4m3": "F8_E4M3", "half": "F16", "float": "F32",
                   "double": "F64", "long": "I64", "int": "I32"})

MAX_HEADER = 100 * 1024 * 1024


class FormatError(Exception):
    """An input file is malformed; the message names the file."""


def dtype_name(dtype):
    """Return the bare dtype name of a torch dtype, numpy dtype or string:
    torch.float32 -> "float32", np.dtype('<f4') -> "float32"."""
    s = str(dtype)
    if s.startswith("torch."):
        return s[len("torch."):]
    try:
        import numpy as np
        if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
            return np.dtype(dtype).name
    except ImportError:
        pass
    return s


def st_dtype(dtype):
    """safetensors spelling ("F32", "BF16", ...) of a torch/numpy dtype or a
    name; raises ValueError when safetensors has no such type."""
    name = dtype_name(dtype)
    if name in ST_DTYPES:
        return name
    if name in NAME_TO_ST:
        return NAME_TO_ST[name]
    raise ValueError("dtype %s has no safetensors equivalent" % name)


# ---------------------------------------------------------------------------
# safetensors reading

def read_safetensors_header(path):
    """Read a safetensors file's header without touching tensor data.

    Returns (entries, metadata, data_start) where entries is an OrderedDict
    name -> {"dtype", "shape", "data_offsets"} in file-data order and
    metadata is the `__metadata__` dict (or {}).
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise FormatError("%s: file is %d bytes, too short for a safetensors header" % (path, size))
        (n,) = struct.unpack("<Q", raw)
        if n > MAX_HEADER:
            raise FormatError("%s: header length %d exceeds %d bytes" % (path, n, MAX_HEADER))
        if 8 + n > size:
            raise FormatError("%s: header length %d runs past the end of the %d-byte file" % (path, n, size))
        text = f.read(n)
    try:
        header = json.loads(text.decode("utf-8"), object_pairs_hook=OrderedDict)
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError("%s: header is not valid JSON: %s" % (path, e))
    if not isinstance(header, dict):
        raise FormatError("%s: header is not a JSON object" % path)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise FormatError("%s: __metadata__ must map strings to strings" % path)
    data_len = size - 8 - n
    items = []
    for name, e in header.items():
        if not isinstance(e, dict) or "dtype" not in e or "shape" not in e or "data_offsets" not in e:
            raise FormatError("%s: tensor %r: entry needs dtype, shape and data_offsets" % (path, name))
        if e["dtype"] not in ST_DTYPES:
            raise FormatError("%s: tensor %r: unknown dtype %r" % (path, name, e["dtype"]))
        shape = e["shape"]
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise FormatError("%s: tensor %r: bad shape %r" % (path, name, shape))
        begin, end = e["data_offsets"]
        numel = 1
        for d in shape:
            numel *= d
        need = numel * ST_DTYPES[e["dtype"]][2]
        if not (0 <= begin <= end <= data_len):
            raise FormatError("%s: tensor %r: data_offsets [%d, %d] outside the %d-byte data region"
                              % (path, name, begin, end, data_len))
        if end - begin != need:
            raise FormatError("%s: tensor %r: shape %s needs %d bytes, offsets span %d"
                              % (path, name, shape, need, end - begin))
        items.append((begin, end, name, e))
    items.sort(key=lambda t: (t[0], t[1], t[2]))
    pos = 0
    for begin, end, name, _ in items:
        if begin != pos:
            raise FormatError("%s: tensor %r: data starts at %d, expected %d (overlap or hole)"
                              % (path, name, begin, pos))
        pos = end
    if pos != data_len:
        raise FormatError("%s: data region is %d bytes, tensors cover %d" % (path, data_len, pos))
    entries = OrderedDict((name, e) for _, _, name, e in items)
    return entries, metadata, 8 + n


def _raw_to_numpy(buf, dtype, shape, bf16):
    import numpy as np
    np_dtype = ST_DTYPES[dtype][1]
    if np_dtype is not None:
        return np.frombuffer(buf, dtype=np_dtype).reshape(shape).copy()
    if dtype == "BF16":
        bits = np.frombuffer(buf, dtype="<u2")
        if bf16 == "float32":
            return (bits.astype("<u4") << 16).view("<f4").reshape(shape).copy()
        if bf16 == "raw":
            return bits.reshape(shape).copy()
    raise ValueError("numpy has no %s; pass bf16='float32' or read with torch" % dtype)


def _raw_to_torch(buf, dtype, shape):
    import numpy as np
    import torch
    np_dtype = ST_DTYPES[dtype][1]
    if dtype == "BF16":
        t = torch.from_numpy(np.frombuffer(buf, dtype="<i2").copy()).view(torch.bfloat16)
    elif dtype in ("F8_E4M3", "F8_E5M2"):
        tdt = getattr(torch, ST_DTYPES[dtype][0], None)
        if tdt is None:
            raise ValueError("this torch (%s) has no %s" % (torch.__version__, ST_DTYPES[dtype][0]))
        t = torch.from_numpy(np.frombuffer(buf, dtype="|u1").copy()).view(tdt)
    elif dtype in ("U16", "U32", "U64") and not hasattr(torch, ST_DTYPES[dtype][0]):
        raise ValueError("this torch (%s) has no %s" % (torch.__version__, ST_DTYPES[dtype][0]))
    else:
        t = torch.from_numpy(np.frombuffer(buf, dtype=np_dtype).copy())
    return t.reshape(shape)


def read_safetensors(path, backend="torch", bf16=None):
    """Read every tensor of a safetensors file.

    Returns (tensors, metadata): tensors is an OrderedDict name -> tensor in
    execution order when the file has a `refcmp.order` metadata entry, else
    in file-data order. backend is "torch" or "numpy"; with numpy, BF16
    needs bf16="float32" (exact widening) or bf16="raw" (uint16 bits).
    """
    entries, metadata, start = read_safetensors_header(path)
    names = list(entries)
    order = metadata.get("refcmp.order")
    if order:
        listed = [n for n in json.loads(order) if n in entries]
        names = listed + [n for n in names if n not in set(listed)]
    out = OrderedDict()
    with open(path, "rb") as f:
        for name in names:
            e = entries[name]
            begin, end = e["data_offsets"]
            f.seek(start + begin)
            buf = f.read(end - begin)
            if backend == "torch":
                out[name] = _raw_to_torch(buf, e["dtype"], e["shape"])
            else:
                out[name] = _raw_to_numpy(buf, e["dtype"], e["shape"], bf16)
    return out, metadata


# ---------------------------------------------------------------------------
# safetensors writing

def _is_torch_tensor(x):
    t = type(x)
    return t.__module__.startswith("torch") and hasattr(x, "detach")


def tensor_info(x):
    """(safetensors dtype, shape list) of a torch tensor or numpy array."""
    if _is_torch_tensor(x):
        return st_dtype(x.dtype), [int(d) for d in x.shape]
    import numpy as np
    a = np.asarray(x)
    return st_dtype(a.dtype), [int(d) for d in a.shape]


def tensor_bytes(x):
    """Little-endian C-order bytes of a torch tensor or numpy array."""
    import numpy as np
    if _is_torch_tensor(x):
        import torch
        t = x.detach().cpu().contiguous()
        dt = st_dtype(t.dtype)
        if dt == "BF16":
            return t.view(torch.int16).numpy().astype("<i2").tobytes()
        if dt in ("F8_E4M3", "F8_E5M2"):
            return t.view(torch.uint8).numpy().tobytes()
        a = t.numpy()
    else:
        a = np.asarray(x)
    if a.dtype.hasobject:
        raise TypeError("object arrays cannot be written as tensors")
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return np.ascontiguousarray(a).tobytes(order="C")


def write_safetensors(path, tensors, metadata=None):
    """Write tensors (a mapping or a list of (name, tensor) pairs; torch
    tensors or numpy arrays) to a safetensors file, in the given order,
    without the safetensors package. The header is compact JSON with
    `__metadata__` first, padded with spaces to a multiple of 8 bytes.
    The same inputs give the same bytes."""
    items = list(tensors.items()) if hasattr(tensors, "items") else list(tensors)
    header = OrderedDict()
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("safetensors metadata must map str to str, got %r: %r" % (k, v))
        header["__metadata__"] = OrderedDict(metadata)
    blobs = []
    pos = 0
    seen = set()
    for name, x in items:
        if name in seen:
            raise ValueError("duplicate tensor name %r" % name)
        if name == "__metadata__":
            raise ValueError("tensor name __metadata__ is reserved")
        seen.add(name)
        dt, shape = tensor_info(x)
        b = tensor_bytes(x)
        header[name] = OrderedDict([("dtype", dt), ("shape", shape), ("data_offsets", [pos, pos + len(b)])])
        blobs.append(b)
        pos += len(b)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((-len(text)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def safetensors_package_save():
    """Return safetensors.torch.save_file when the real `safetensors`
    package is importable, else None. (A directory named safetensors, such
    as refcmp's Go package, can shadow it as a namespace package; that does
    not count.)"""
    try:
        from safetensors.torch import save_file
    except Exception:
        return None
    return save_file


# ---------------------------------------------------------------------------
# the weights manifest

def format_shape(shape):
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def manifest_lines(entries):
    """Text manifest lines `name [d0, d1] float32` for (name, shape, dtype)
    triples; dtype may be None."""
    lines = []
    for name, shape, dtype in entries:
        if any(c.isspace() for c in name):
            raise ValueError("weight name %r contains white space; use the JSON manifest" % name)
        parts = [name, format_shape(shape)]
        if dtype is not None:
            parts.append(dtype_name(dtype))
        lines.append(" ".join(parts))
    return lines


def manifest_json(entries):
    """JSON manifest {"name": {"shape": [...], "dtype": "F32"}} (source order)."""
    obj = OrderedDict()
    for name, shape, dtype in entries:
        e = OrderedDict([("shape", [int(d) for d in shape])])
        if dtype is not None:
            try:
                e["dtype"] = st_dtype(dtype)
            except ValueError:
                e["dtype"] = dtype_name(dtype)
        obj[name] = e
    if not obj:
        return "{}\n"
    rows = ["  %s: %s" % (json.dumps(k), json.dumps(v)) for k, v in obj.items()]
    return "{\n" + ",\n".join(rows) + "\n}\n"


# ---------------------------------------------------------------------------
# models from specs

DEFAULT_FACTORIES = ("build_model", "make_model", "create_model", "get_model", "model", "Model")


def load_python_module(path_or_name):
    """Import a module from a file path (foo/bar.py) or a dotted name."""
    if path_or_name.endswith(".py") or os.path.sep in path_or_name or os.path.isfile(path_or_name):
        path = os.path.abspath(path_or_name)
        if not os.path.isfile(path):
            raise FileNotFoundError("%s: no such file" % path_or_name)
        d = os.path.dirname(path)
        if d not in sys.path:
            sys.path.insert(0, d)
        modname = "_refcmp_model_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
        return mod
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return importlib.import_module(path_or_name)


def is_model_spec(spec):
    """True when spec names Python code (module:attr, file.py[:attr]) rather
    than a checkpoint file."""
    if os.path.exists(spec):
        return spec.endswith(".py")
    base, sep, attr = spec.rpartition(":")
    if sep and base and attr.isidentifier():
        return True
    return spec.endswith(".py")


def load_model(spec, kwargs=None):
    """Build a model from `module:attr`, `path/file.py:attr` or `file.py`.

    attr may be an nn.Module instance, a class or a factory function; classes
    and functions are called with kwargs. For a bare file the first of
    DEFAULT_FACTORIES it defines is used. Returns (model, module).
    """
    base, sep, attr = spec.rpartition(":")
    if not sep or not attr.isidentifier() or (os.path.exists(spec) and not os.path.exists(base)):
        base, attr = spec, None
    mod = load_python_module(base)
    if attr is None:
        for cand in DEFAULT_FACTORIES:
            if hasattr(mod, cand):
                attr = cand
                break
        else:
            raise ValueError("%s defines none of %s; name one as %s:NAME"
                             % (base, ", ".join(DEFAULT_FACTORIES), base))
    if not hasattr(mod, attr):
        raise ValueError("%s has no attribute %r" % (base, attr))
    obj = getattr(mod, attr)
    import torch
    if not isinstance(obj, torch.nn.Module):
        if not callable(obj):
            raise ValueError("%s:%s is neither an nn.Module nor callable" % (base, attr))
        obj = obj(**(kwargs or {}))
    if not isinstance(obj, torch.nn.Module):
        raise ValueError("%s:%s returned %s, not an nn.Module" % (base, attr, type(obj).__name__))
    return obj, mod


def torch_load(path, unsafe=False):
    """torch.load on CPU; weights_only=True (no arbitrary code) unless
    unsafe or this torch predates the flag."""
    import inspect
    import torch
    kw = {"map_location": "cpu"}
    if not unsafe and "weights_only" in inspect.signature(torch.load).parameters:
        kw["weights_only"] = True
    try:
        return torch.load(path, **kw)
    except Exception as e:
        if kw.get("weights_only"):
            raise RuntimeError("%s: torch.load(weights_only=True) failed: %s\n"
                               "(if the file pickles whole objects and you trust it, pass --unsafe)"
                               % (path, str(e).splitlines()[0] if str(e) else type(e).__name__))
        raise


def load_state_dict_file(path, unsafe=False):
    """Load every tensor of a checkpoint file as torch tensors (safetensors,
    .pt/.pth/.bin, .npz), keeping source order. Nested checkpoints
    ({"state_dict": {...}}) are unwrapped as in find_state_dict."""
    if path.endswith(".safetensors"):
        return read_safetensors(path, backend="torch")[0]
    if path.endswith(".npz"):
        import numpy as np
        import torch
        with np.load(path, allow_pickle=False) as z:
            return OrderedDict((k, torch.from_numpy(z[k])) for k in z.files)
    return find_state_dict(torch_load(path, unsafe=unsafe), path)[0]


STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model", "module", "net", "params")


def find_state_dict(obj, source="checkpoint", key=None, notes=None):
    """Return (OrderedDict name -> tensor, notes) from what torch.load gave.

    A flat dict of tensors is used as is; a dict with one of STATE_DICT_KEYS
    holding tensors is unwrapped; other nested dicts are flattened with dots.
    Non-tensor values are skipped and listed in notes. An nn.Module gives
    its state_dict(). key selects a dotted sub-path explicitly.
    """
    import torch
    notes = [] if notes is None else notes
    if key:
        for part in key.split("."):
            if not isinstance(obj, dict) or part not in obj:
                raise KeyError("%s: no key %r in the checkpoint" % (source, key))
            obj = obj[part]
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, torch.Tensor):
        return OrderedDict([("tensor", obj)]), notes
    if not isinstance(obj, dict):
        raise ValueError("%s: holds a %s, not a state dict" % (source, type(obj).__name__))
    if not all(isinstance(v, torch.Tensor) for v in obj.values()) and key is None:
        for k in STATE_DICT_KEYS:
            v = obj.get(k)
            if isinstance(v, torch.nn.Module):
                v = v.state_dict()
            if isinstance(v, dict) and v and all(isinstance(x, torch.Tensor) for x in v.values()):
                notes.append("using checkpoint[%r]" % k)
                return OrderedDict(v), notes
    out = OrderedDict()

    def walk(prefix, o):
        for k, v in o.items():
            name = "%s.%s" % (prefix, k) if prefix else str(k)
            if isinstance(v, torch.Tensor):
                out[name] = v
            elif isinstance(v, dict):
                walk(name, v)
            else:
                notes.append("skipped %s (%s, not a tensor)" % (name, type(v).__name__))

    walk("", obj)
    return out, notes
