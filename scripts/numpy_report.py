#!/usr/bin/env python3
"""numpy_report.py: the numpy oracle for `refcmp tensors`.

Usage:
    numpy_report.py [--equal-nan] [--atol A] [--rtol R] [--dtype D] [--shape S]
                    [--chunk N] [--indent N] REF OURS
    numpy_report.py --manifest testdata/pairs/pairs.json [--skip-needing torch]

Reads REF and OURS (.npy, .npz, .safetensors, a sharded .safetensors.index.json,
a directory of any of these (tensors named by relative path, "sub/x.npy" and
"sub/acts.npz/member"), one member of a container as PATH:NAME,
PyTorch .pt/.pth/.bin via torch.load, or raw little-endian .bin with --dtype and
--shape or a sidecar JSON {"dtype": ..., "shape": [...]} beside it), pairs the
tensors and prints on stdout, as JSON, the report `refcmp tensors --format json`
gives, with refcmp's field names. It is an independent implementation in numpy
used to cross-check refcmp (cmd/refcmp/peers_test.go) and to time numpy
(scripts/bench_vs_numpy.sh). Exit status: 0 all pass, 1 differences, 2 error.

Formats are detected by content: "\\x93NUMPY" is .npy; a zip whose members all
end in .npy is .npz, any other zip is PyTorch; a pickle (first byte 0x80, or
'L' for protocol 1) is legacy PyTorch; an 8-byte little-endian length followed
by '{' is safetensors; a JSON file with "weight_map" is a sharded index;
anything else is raw. A raw file NAME.bin takes its dtype and shape from
--dtype and --shape, else from a sidecar NAME.bin.json or NAME.json, else F32
and a 1-D shape covering the whole file. bf16 and float8 (E4M3FN, E5M2) are
decoded by bit manipulation; every value is then held exactly in float32 or
float64.

Pairing: two single tensors (.npy, raw, a .pt holding one tensor) are compared
directly. Otherwise tensors pair by name; names on one side only go to
ref_only / ours_only. Order of the report: REF's insertion order when REF keeps
one (.npz, .pt), else the safetensors metadata entry "refcmp.order" (a JSON
list or comma/newline separated names) when present, else natural sort of the
names ("layers.2" before "layers.10").

Definitions (all arithmetic in float64; ref and ours are converted to float64
element by element, which is exact for every supported dtype except integers
beyond 2**53):

Per side (the "ref" and "ours" objects):
  nan, inf    counts of NaN and of +-Inf elements.
  min, max, mean, std
              over the finite elements of that side only; std is the population
              standard deviation (divide by n). When the side has no finite
              element (empty tensor, all NaN/Inf) all four are NaN.

Differences, with d = ours - ref (float64):
  The "finite pairs" are the positions where ref and ours are both finite.
  max_abs_diff   max |d| over finite pairs.
  mean_abs_diff  mean |d| over finite pairs.
  max_rel_diff   max |d| / |ref| over finite pairs; where ref == 0 the term is
                 0 when d == 0 and +Inf otherwise (as torch reports it).
  rmse           sqrt(mean d**2) over finite pairs.
  nmse           mean(d**2) / var(ref): mean(d**2) over finite pairs, var(ref)
                 the population variance of ref's finite values (std(ref)**2 as
                 reported in "ref"); 0 when mean(d**2) == 0, else +Inf when
                 var(ref) == 0.
  cosine         sum(ref*ours) / (sqrt(sum ref**2) * sqrt(sum ours**2)) over
                 finite pairs, clamped to [-1, 1]; 1 when both norms are 0, 0
                 when exactly one is.
  With no finite pair (empty tensor, or every position has a NaN/Inf on some
  side) all six are NaN. Sums are plain float64: with |values| beyond about
  1e154 sums of squares overflow, and std, rmse, nmse and cosine come out as
  IEEE arithmetic gives them (Infinity, NaN).
  worst          {index, ref, ours} at the first position (C order) where |d|
                 reaches max_abs_diff among finite pairs; null when max_abs_diff
                 is 0 or there is no finite pair. index is the multi-dimensional
                 index as a list ([] for a scalar).
  finite_pairs   the number of finite pairs.
  introduced     elements where ours is NaN or +-Inf and ref is finite (always
                 mismatches, even with --equal-nan); first_introduced is
                 {index, ref, ours} of the first, or null.

Mismatches (the allclose rule of torch.testing.assert_close):
  a finite pair is close when |ours - ref| <= atol + rtol * |ref|;
  +Inf is close only to +Inf and -Inf only to -Inf;
  NaN is never close to anything, except NaN when --equal-nan is given;
  a NaN/Inf on one side against a finite value on the other is a mismatch.
  When both sides are integer or bool dtypes the comparison is exact in
  integers (not via float64), so int64 values beyond 2**53 that differ by 1
  mismatch; when a side is int64 or uint64, |d| (above) is also exact: the
  integer |ours - ref|, rounded once to float64.
  mismatched          count of elements that are not close.
  mismatch_fraction   mismatched / numel (0 for an empty tensor).
  first_mismatch      {index, ref, ours} of the first mismatching element in C
                      order, or null.
  Default tolerances by dtype (rtol, atol): F16 1e-3, 1e-5; BF16 1.6e-2, 1e-5;
  F32 1.3e-6, 1e-5; F64 1e-7, 1e-7; F8_E4M3 0.125, 2**-9; F8_E5M2 0.25, 2**-16;
  integers and BOOL 0, 0. With two dtypes each of rtol and atol is the larger
  of the two sides' defaults. --atol / --rtol override (each on its own).
  --exact: an element mismatches when its stored bits differ (one dtype; byte
  order aside), or, with two dtypes, when the decoded float64 values differ
  bitwise (any NaN matching any NaN); the difference statistics are unchanged.
  pass  mismatched == 0, introduced == 0 and shapes equal. Top-level pass: every pair passes and
  no name is on one side only. first_failure: name of the first failing pair in
  report order, or null.

Shapes that differ are reported with "shape_mismatch": true, "shape" (ref's),
"ours_shape", both sides' stats, and no difference statistics.

JSON: NaN and infinities are written as the strings "NaN", "Infinity",
"-Infinity". dtypes use the safetensors spellings (F32, BF16, I64, BOOL...).
"""

import argparse
import json
import math
import os
import re
import struct
import sys
import zipfile

import numpy as np

# ---------------------------------------------------------------- dtypes

# safetensors spelling -> numpy dtype of the stored bits (little-endian)
ST_STORAGE = {
    "BOOL": np.dtype("?"), "U8": np.dtype("u1"), "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"), "U64": np.dtype("<u8"), "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8"),
    "BF16": np.dtype("<u2"), "F8_E4M3": np.dtype("u1"), "F8_E5M2": np.dtype("u1"),
}

NP_TO_ST = {
    "b": "BOOL", "u1": "U8", "i1": "I8", "u2": "U16", "i2": "I16", "u4": "U32",
    "i4": "I32", "u8": "U64", "i8": "I64", "f2": "F16", "f4": "F32", "f8": "F64",
}

ALIASES = {
    "bool": "BOOL", "u8": "U8", "uint8": "U8", "i8": "I8", "int8": "I8",
    "u16": "U16", "uint16": "U16", "i16": "I16", "int16": "I16",
    "u32": "U32", "uint32": "U32", "i32": "I32", "int32": "I32",
    "u64": "U64", "uint64": "U64", "i64": "I64", "int64": "I64",
    "f16": "F16", "float16": "F16", "half": "F16", "bf16": "BF16", "bfloat16": "BF16",
    "f32": "F32", "float32": "F32", "float": "F32", "f64": "F64", "float64": "F64",
    "double": "F64", "f8_e4m3": "F8_E4M3", "f8e4m3": "F8_E4M3", "float8_e4m3fn": "F8_E4M3",
    "f8_e4m3fn": "F8_E4M3", "e4m3": "F8_E4M3", "f8_e5m2": "F8_E5M2", "f8e5m2": "F8_E5M2",
    "float8_e5m2": "F8_E5M2", "e5m2": "F8_E5M2",
}

# (rtol, atol)
DEFAULT_TOL = {
    "F16": (1e-3, 1e-5), "BF16": (1.6e-2, 1e-5), "F32": (1.3e-6, 1e-5),
    "F64": (1e-7, 1e-7), "F8_E4M3": (0.125, 2.0 ** -9), "F8_E5M2": (0.25, 2.0 ** -16),
}

INT_DTYPES = {"BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64"}


def parse_dtype(s):
    key = s.strip().lower()
    for p in ("torch.", "numpy.", "np."):
        if key.startswith(p):
            key = key[len(p):]
    if key.upper() in ST_STORAGE:
        return key.upper()
    if key in ALIASES:
        return ALIASES[key]
    raise ValueError("unknown dtype %r" % s)


def st_name(npdtype):
    dt = np.dtype(npdtype)
    key = "b" if dt.kind == "b" else dt.kind + str(dt.itemsize)
    if key not in NP_TO_ST:
        raise ValueError("unsupported numpy dtype %s" % dt)
    return NP_TO_ST[key]


def bf16_to_f32(u16):
    return (np.asarray(u16, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def _f8_table(exp_bits, man_bits, bias, fn):
    """float32 value of every byte of a float8 format."""
    out = np.empty(256, dtype=np.float32)
    for b in range(256):
        s = -1.0 if b & 0x80 else 1.0
        e = (b >> man_bits) & ((1 << exp_bits) - 1)
        m = b & ((1 << man_bits) - 1)
        emax = (1 << exp_bits) - 1
        if fn:  # E4M3FN: no infinities, S.1111.111 is NaN
            if e == emax and m == (1 << man_bits) - 1:
                out[b] = np.nan
                continue
        elif e == emax:  # IEEE-like (E5M2)
            out[b] = s * np.inf if m == 0 else np.nan
            continue
        if e == 0:
            v = m * 2.0 ** (1 - bias - man_bits)
        else:
            v = (1 + m / float(1 << man_bits)) * 2.0 ** (e - bias)
        out[b] = s * v
    return out


F8_E4M3_TABLE = _f8_table(4, 3, 7, True)
F8_E5M2_TABLE = _f8_table(5, 2, 15, False)


def decode_storage(raw, dtype):
    """Stored bits (numpy array) of a safetensors dtype -> array holding the
    values exactly (bf16 and f8 become float32)."""
    if dtype == "BF16":
        return bf16_to_f32(raw)
    if dtype == "F8_E4M3":
        return F8_E4M3_TABLE[raw]
    if dtype == "F8_E5M2":
        return F8_E5M2_TABLE[raw]
    return raw


class T:
    """One tensor: name, safetensors dtype, shape tuple, values (a numpy
    array, possibly a memmap, holding the values exactly, logical C order
    whatever its memory layout), and bits: the stored bits (uint8/uint16)
    when values had to be decoded (BF16, F8), else None."""

    def __init__(self, name, dtype, shape, values, bits=None):
        self.name = name
        self.dtype = dtype
        self.shape = tuple(int(d) for d in shape)
        self.values = values
        self.bits = bits


def stored_bits(raw, dtype):
    return raw if dtype in ("BF16", "F8_E4M3", "F8_E5M2") else None


class Source:
    def __init__(self, tensors, ordered, single, order=None):
        self.tensors = tensors  # list of T, in file order
        self.ordered = ordered  # insertion order is meaningful
        self.single = single    # a single-tensor file (npy, raw)
        self.order = order      # explicit order (names) or None


# ---------------------------------------------------------------- readers

def read_npy(path, name=None):
    arr = np.load(path, mmap_mode="r", allow_pickle=False)
    if arr.dtype.hasobject:
        raise ValueError("%s: object arrays are refused" % path)
    dt = st_name(arr.dtype)
    return T(name if name is not None else os.path.basename(path), dt, arr.shape, arr)


def read_npz(path):
    out = []
    with np.load(path, allow_pickle=False) as z:
        for key in z.files:
            arr = z[key]
            out.append(T(key, st_name(arr.dtype), arr.shape, arr))
    return Source(out, ordered=True, single=False)


def read_safetensors(path, name_prefix=""):
    with open(path, "rb") as f:
        head = f.read(8)
        (n,) = struct.unpack("<Q", head)
        header = json.loads(f.read(n).decode("utf-8"))
    base = 8 + n
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    meta = header.pop("__metadata__", None) or {}
    out = []
    for key, info in header.items():
        dt = info["dtype"].upper()
        if dt not in ST_STORAGE:
            raise ValueError("%s: tensor %r: unsupported dtype %s" % (path, key, dt))
        shape = tuple(info["shape"])
        b, e = info["data_offsets"]
        raw = mm[base + b: base + e].view(ST_STORAGE[dt]).reshape(shape)
        out.append(T(name_prefix + key, dt, shape, decode_storage(raw, dt), stored_bits(raw, dt)))
    order = None
    if "refcmp.order" in meta:
        order = parse_order(meta["refcmp.order"])
    return Source(out, ordered=False, single=False, order=order)


def parse_order(s):
    s = s.strip()
    if s.startswith("["):
        return [str(x) for x in json.loads(s)]
    return [x.strip() for x in re.split(r"[,\n]", s) if x.strip()]


def read_index(path):
    with open(path) as f:
        idx = json.load(f)
    d = os.path.dirname(path)
    wm = idx["weight_map"]
    out = []
    seen = set()
    for shard in sorted(set(wm.values())):
        src = read_safetensors(os.path.join(d, shard))
        for t in src.tensors:
            if t.name in wm and t.name not in seen:
                seen.add(t.name)
                out.append(t)
    return Source(out, ordered=False, single=False)


TORCH_DT = None


def read_torch(path):
    import torch

    global TORCH_DT
    if TORCH_DT is None:
        TORCH_DT = {
            torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16",
            torch.int32: "I32", torch.int64: "I64", torch.float16: "F16",
            torch.bfloat16: "BF16", torch.float32: "F32", torch.float64: "F64",
        }
        for attr, st in (("float8_e4m3fn", "F8_E4M3"), ("float8_e5m2", "F8_E5M2")):
            if hasattr(torch, attr):
                TORCH_DT[getattr(torch, attr)] = st
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch without weights_only
        obj = torch.load(path, map_location="cpu")

    def conv(name, t):
        dt = TORCH_DT.get(t.dtype)
        if dt is None:
            raise ValueError("%s: tensor %r: unsupported dtype %s" % (path, name, t.dtype))
        t = t.detach().contiguous()
        bits = None
        if dt in ("BF16", "F8_E4M3", "F8_E5M2"):
            vals = t.float().numpy()
            bits = t.view(torch.int16).numpy().view(np.uint16) if dt == "BF16" else t.view(torch.uint8).numpy()
        else:
            vals = t.numpy()
        return T(name, dt, tuple(t.shape), vals, bits)

    if isinstance(obj, torch.Tensor):
        return Source([conv(os.path.basename(path), obj)], ordered=True, single=True)
    out = []

    def walk(prefix, o):
        if isinstance(o, torch.Tensor):
            out.append(conv(prefix, o))
        elif isinstance(o, dict):
            for k, v in o.items():
                walk(prefix + "." + str(k) if prefix else str(k), v)
        elif isinstance(o, (list, tuple)):
            for i, v in enumerate(o):
                walk(prefix + "." + str(i) if prefix else str(i), v)

    walk("", obj)
    return Source(out, ordered=True, single=False)


def parse_shape(s):
    s = s.strip().strip("[]()")
    if not s:
        return ()
    return tuple(int(x) for x in re.split(r"[,x× ]+", s) if x)


def read_raw(path, dtype, shape):
    sidecar = None
    stem = os.path.splitext(path)[0]
    for cand in (path + ".json", stem + ".json"):
        if cand != path and os.path.isfile(cand):
            sidecar = cand
            break
    if sidecar:
        with open(sidecar) as f:
            sc = json.load(f)
        if dtype is None and sc.get("dtype") is not None:
            dtype = parse_dtype(sc["dtype"])
        if shape is None and sc.get("shape") is not None:
            shape = tuple(sc["shape"])
    dtype = dtype or "F32"
    size = os.path.getsize(path)
    item = ST_STORAGE[dtype].itemsize
    if shape is None:
        if size % item:
            raise ValueError("%s: %d bytes is not a whole number of %s" % (path, size, dtype))
        shape = (size // item,)
    numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if numel * item != size:
        raise ValueError("%s: shape %s needs %d bytes, file has %d" % (path, list(shape), numel * item, size))
    if size == 0:
        raw = np.zeros(0, dtype=ST_STORAGE[dtype]).reshape(shape)
    else:
        raw = np.memmap(path, dtype=ST_STORAGE[dtype], mode="r", shape=shape if shape else (1,))
        if not shape:
            raw = raw.reshape(())
    return T(os.path.basename(path), dtype, shape, decode_storage(raw, dtype), stored_bits(raw, dtype))


DUMP_EXT = (".npy", ".npz", ".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".raw")


def read_dir(path, args):
    """A directory: a safetensors checkpoint directory (only .safetensors
    files and indexes at the top) is one container; otherwise every tensor
    file under it, named by relative path ("sub/x.npy"), plus "/member" for
    a container's tensors ("sub/acts.npz/l0")."""
    top = sorted(os.listdir(path))
    files = [f for f in top if os.path.isfile(os.path.join(path, f))]
    st = [f for f in files if f.endswith((".safetensors", ".safetensors.index.json"))]
    if st and not any(f.lower().endswith(DUMP_EXT) and f not in st for f in files):
        idx = [f for f in st if f.endswith(".index.json")]
        if idx:
            return read_index(os.path.join(path, idx[0]))
        out = []
        for f in st:
            out.extend(read_safetensors(os.path.join(path, f)).tensors)
        return Source(out, ordered=False, single=False)
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for f in sorted(filenames):
            if not f.lower().endswith(DUMP_EXT):
                continue
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, path).replace(os.sep, "/")
            src = open_source(full, args)
            for t in src.tensors:
                t.name = rel if src.single else rel + "/" + t.name
                out.append(t)
    return Source(out, ordered=False, single=False)


def open_source(path, args):
    if not os.path.exists(path) and ":" in path:
        # PATH:NAME, one member of a container, compared as a single tensor
        cpath, member = path.rsplit(":", 1)
        src = open_source(cpath, args)
        for t in src.tensors:
            if t.name == member:
                return Source([t], ordered=True, single=True)
        raise ValueError("%s: no tensor %r" % (cpath, member))
    if os.path.isdir(path):
        return read_dir(path, args)
    with open(path, "rb") as f:
        head = f.read(16)
    size = os.path.getsize(path)
    if head.startswith(b"\x93NUMPY"):
        return Source([read_npy(path)], ordered=True, single=True)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
        if names and all(n.endswith(".npy") for n in names):
            return read_npz(path)
        return read_torch(path)
    if len(head) >= 9 and head[8:9] == b"{":
        (n,) = struct.unpack("<Q", head[:8])
        if 2 <= n <= size - 8:
            return read_safetensors(path)
    if head[:1] in (b"{",) and path.endswith(".json"):
        return read_index(path)
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return read_torch(path)
    if head[:1] == b"L" and path.endswith((".pt", ".pth")):
        return read_torch(path)
    shape = parse_shape(args.shape) if args.shape is not None else None
    dtype = parse_dtype(args.dtype) if args.dtype else None
    return Source([read_raw(path, dtype, shape)], ordered=True, single=True)


# ---------------------------------------------------------------- compare

def natural_key(s):
    """layers.2 before layers.10; names equal by it fall back to plain order."""
    return ([(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", s) if p != ""], s)


def tolerance(rdt, odt, args):
    rr, ra = DEFAULT_TOL.get(rdt, (0.0, 0.0))
    orr, oa = DEFAULT_TOL.get(odt, (0.0, 0.0))
    rtol, atol = max(rr, orr), max(ra, oa)
    if args.rtol is not None:
        rtol = args.rtol
    if args.atol is not None:
        atol = args.atol
    return rtol, atol


def flat(values):
    v = np.asarray(values) if not isinstance(values, np.ndarray) else values
    return np.ravel(v, order="C")


def unravel(i, shape):
    if not shape:
        return []
    return [int(x) for x in np.unravel_index(int(i), shape)]


def num(x):
    """A Python number for JSON (NaN/Inf handled by encode)."""
    if isinstance(x, (np.bool_, bool)):
        return int(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    return float(x)


class Moments:
    """count, sum, min, max and M2 (sum of squared deviations from the mean)
    of one side's finite values: each chunk two-pass about its own mean,
    chunks merged with Chan et al.'s formula."""

    def __init__(self):
        self.n = 0
        self.sum = 0.0
        self.mean = 0.0
        self.m2 = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.nan = 0
        self.inf = 0

    def add(self, fv):
        """Fold in a chunk of finite float64 values."""
        nb = fv.size
        if nb == 0:
            return
        sb = float(fv.sum())
        mb = sb / nb
        dev = fv - mb
        m2b = float(np.dot(dev, dev))
        self.min = min(self.min, float(fv.min()))
        self.max = max(self.max, float(fv.max()))
        self.sum += sb
        if self.n == 0:
            self.n, self.mean, self.m2 = nb, mb, m2b
            return
        tot = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / tot
        self.m2 += m2b + delta * delta * self.n * nb / tot
        self.n = tot

    def var(self):
        return self.m2 / self.n if self.n else math.nan

    def stats(self):
        if self.n == 0:
            return {"min": math.nan, "max": math.nan, "mean": math.nan, "std": math.nan,
                    "nan": self.nan, "inf": self.inf}
        return {"min": self.min, "max": self.max, "mean": self.sum / self.n,
                "std": math.sqrt(self.m2 / self.n), "nan": self.nan, "inf": self.inf}


def side_stats(vflat, chunk):
    m = Moments()
    for a in range(0, vflat.shape[0], chunk):
        x = vflat[a:a + chunk].astype(np.float64)
        fin = np.isfinite(x)
        if fin.all():
            m.add(x)
            continue
        m.nan += int(np.isnan(x).sum())
        m.inf += int(np.isinf(x).sum())
        m.add(x[fin])
    return m


def int_mismatch(r, o):
    """Exact integer comparison (no float64 rounding)."""
    if r.dtype == np.uint64 and o.dtype == np.uint64:
        return r != o
    if r.dtype != np.uint64 and o.dtype != np.uint64:
        return r.astype(np.int64) != o.astype(np.int64)
    return np.array([int(x) != int(y) for x, y in zip(r, o)], dtype=bool)


def exact_mismatch(rbits, obits, r64, o64, same_dtype):
    """--exact: with one dtype, the stored bits differ (byte order aside);
    with two, the decoded float64 values differ bitwise, any NaN matching
    any NaN."""
    if same_dtype:
        def u(x):
            x = np.asarray(x)
            if x.dtype.byteorder not in ("=", "|"):
                x = x.astype(x.dtype.newbyteorder("="))
            return x.view("u%d" % x.dtype.itemsize)
        return u(rbits) != u(obits)
    return (r64.view(np.uint64) != o64.view(np.uint64)) & ~(np.isnan(r64) & np.isnan(o64))


def compare(rt, ot, args):
    res = {
        "name": rt.name, "ours_name": ot.name, "shape": list(rt.shape),
        "ref_dtype": rt.dtype, "ours_dtype": ot.dtype,
        "numel": int(np.prod(rt.shape, dtype=np.int64)) if rt.shape else 1,
    }
    chunk = args.chunk
    rf = flat(rt.values)
    of = flat(ot.values)
    rtol, atol = tolerance(rt.dtype, ot.dtype, args)
    tol = {"check": "allclose", "atol": atol, "rtol": rtol}
    if args.exact:
        tol["exact"] = True
    if args.equal_nan:
        tol["equal_nan"] = True
    if rt.shape != ot.shape:
        res["ref"] = side_stats(rf, chunk).stats()
        res["ours"] = side_stats(of, chunk).stats()
        res.update({"tolerance": tol, "shape_mismatch": True, "ours_shape": list(ot.shape),
                    "pass": False, "hints": []})
        return res
    n = rf.shape[0]
    exact_int = rt.dtype in INT_DTYPES and ot.dtype in INT_DTYPES
    wide_int = exact_int and ({rt.dtype, ot.dtype} & {"I64", "U64"})
    same_dt = rt.dtype == ot.dtype
    rb = rf if rt.bits is None else flat(rt.bits)
    ob = of if ot.bits is None else flat(ot.bits)
    rm, om = Moments(), Moments()
    npairs = 0
    sum_ad = sum_d2 = sum_rr = sum_oo = sum_ro = 0.0
    max_ad = -1.0
    worst_i = -1
    max_rel = 0.0
    mism = 0
    first_mm = -1
    intro = 0
    first_intro = -1
    with np.errstate(all="ignore"):
        for a in range(0, n, chunk):
            r_raw = rf[a:a + chunk]
            o_raw = of[a:a + chunk]
            r = r_raw.astype(np.float64)
            o = o_raw.astype(np.float64)
            fr = np.isfinite(r)
            fo = np.isfinite(o)
            if fr.all() and fo.all():
                # every value finite: no masks needed
                pos = None
                rm.add(r)
                om.add(o)
                rp, op = r, o
                d = o - r
                ad = np.abs(d)
                if wide_int:
                    # |d| from the integers, rounded once (d only feeds d*d)
                    di = o_raw.astype(object) - r_raw.astype(object)
                    ad = np.array([float(abs(int(x))) for x in di], dtype=np.float64)
                    d = ad
                if args.exact:
                    bad = exact_mismatch(rb[a:a + chunk], ob[a:a + chunk], r, o, same_dt)
                elif exact_int:
                    bad = int_mismatch(r_raw, o_raw)
                else:
                    bad = ad > atol + rtol * np.abs(r)
            else:
                for m, x, f in ((rm, r, fr), (om, o, fo)):
                    m.nan += int(np.isnan(x).sum())
                    m.inf += int(np.isinf(x).sum())
                    m.add(x[f])
                both = fr & fo
                ad_all = np.abs(o - r)
                if args.exact:
                    bad = exact_mismatch(rb[a:a + chunk], ob[a:a + chunk], r, o, same_dt)
                elif exact_int:
                    bad = int_mismatch(r_raw, o_raw)
                else:
                    close = both & (ad_all <= atol + rtol * np.abs(r))
                    close |= np.isinf(r) & (r == o)
                    if args.equal_nan:
                        close |= np.isnan(r) & np.isnan(o)
                    bad = ~close
                intr = fr & ~fo
                ni = int(intr.sum())
                if ni:
                    if first_intro < 0:
                        first_intro = a + int(np.argmax(intr))
                    intro += ni
                pos = np.flatnonzero(both)
                rp = r[pos]
                op = o[pos]
                d = op - rp
                ad = ad_all[pos]
            nb = int(np.count_nonzero(bad))
            if nb:
                if first_mm < 0:
                    first_mm = a + int(np.argmax(bad))
                mism += nb
            # differences over finite pairs
            if rp.size == 0:
                continue
            npairs += rp.size
            sum_ad += float(ad.sum())
            sum_d2 += float(np.dot(d, d))
            sum_rr += float(np.dot(rp, rp))
            sum_oo += float(np.dot(op, op))
            sum_ro += float(np.dot(rp, op))
            k = int(np.argmax(ad))
            if ad[k] > max_ad:
                max_ad = float(ad[k])
                worst_i = a + (k if pos is None else int(pos[k]))
            arp = np.abs(rp)
            rel = ad / arp
            zero = arp == 0
            if zero.any():
                rel[zero] = np.where(ad[zero] == 0, 0.0, np.inf)
            max_rel = max(max_rel, float(rel.max()))
    res["ref"] = rm.stats()
    res["ours"] = om.stats()
    res["tolerance"] = tol
    if npairs == 0:
        for k in ("max_abs_diff", "mean_abs_diff", "max_rel_diff", "rmse", "nmse", "cosine"):
            res[k] = math.nan
        res["worst"] = None
    else:
        mse = sum_d2 / npairs
        var = rm.var()
        res["max_abs_diff"] = max_ad
        res["mean_abs_diff"] = sum_ad / npairs
        res["max_rel_diff"] = max_rel
        res["rmse"] = math.sqrt(mse)
        res["nmse"] = 0.0 if mse == 0 else (mse / var if var > 0 else math.inf)
        if sum_rr == 0 and sum_oo == 0:
            cos = 1.0
        elif sum_rr == 0 or sum_oo == 0:
            cos = 0.0
        else:
            cos = sum_ro / (math.sqrt(sum_rr) * math.sqrt(sum_oo))
            if not math.isnan(cos):  # NaN (overflowed sums) stays NaN
                cos = max(-1.0, min(1.0, cos))
        res["cosine"] = cos
        res["worst"] = None if max_ad == 0 else {
            "index": unravel(worst_i, rt.shape), "ref": num(rf[worst_i]), "ours": num(of[worst_i])}
    res["finite_pairs"] = npairs
    res["mismatched"] = mism
    res["mismatch_fraction"] = (mism / n) if n else 0.0
    res["first_mismatch"] = None if first_mm < 0 else {
        "index": unravel(first_mm, rt.shape), "ref": num(rf[first_mm]), "ours": num(of[first_mm])}
    res["introduced"] = intro
    res["first_introduced"] = None if first_intro < 0 else {
        "index": unravel(first_intro, rt.shape), "ref": num(rf[first_intro]), "ours": num(of[first_intro])}
    res["pass"] = mism == 0 and intro == 0
    res["hints"] = []
    return res


def report(ref, ours, args):
    tensors = []
    ref_only = []
    ours_only = []
    if ref.single and ours.single:
        pairs = [(ref.tensors[0], ours.tensors[0])]
    else:
        om = {t.name: t for t in ours.tensors}
        rnames = [t.name for t in ref.tensors]
        rm = {t.name: t for t in ref.tensors}
        onames = [t.name for t in ours.tensors]

        def by_list(order):
            listed = []
            for n in order:
                if n in rm and n not in listed:
                    listed.append(n)
            return listed + sorted((n for n in rnames if n not in set(listed)), key=natural_key)

        if ref.order:
            names = by_list(ref.order)
        elif ours.order:
            names = by_list(ours.order)
        elif ref.ordered:
            names = rnames
        elif ours.ordered:
            pos = {n: i for i, n in reversed(list(enumerate(onames)))}
            names = sorted(rnames, key=lambda n: (pos.get(n, len(onames)), natural_key(n)))
        else:
            names = sorted(rnames, key=natural_key)
        pairs = []
        for nm in names:
            if nm in om:
                pairs.append((rm[nm], om[nm]))
            else:
                ref_only.append(nm)
        ours_only = sorted((t.name for t in ours.tensors if t.name not in rm), key=natural_key)
    first_failure = None
    for rt, ot in pairs:
        r = compare(rt, ot, args)
        tensors.append(r)
        if not r["pass"] and first_failure is None:
            first_failure = r["name"]
    ok = first_failure is None and not ref_only and not ours_only
    return {"pass": ok, "first_failure": first_failure, "tensors": tensors,
            "ref_only": ref_only, "ours_only": ours_only}


def encode(o):
    if isinstance(o, float):
        if math.isnan(o):
            return "NaN"
        if math.isinf(o):
            return "Infinity" if o > 0 else "-Infinity"
        return o
    if isinstance(o, dict):
        return {k: encode(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [encode(v) for v in o]
    return o


def parser():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ref", nargs="?")
    ap.add_argument("ours", nargs="?")
    ap.add_argument("--equal-nan", action="store_true", help="NaN equals NaN")
    ap.add_argument("--exact", action="store_true", help="bitwise equality instead of the allclose rule")
    ap.add_argument("--atol", type=float)
    ap.add_argument("--rtol", type=float)
    ap.add_argument("--dtype", help="dtype of raw files (default F32)")
    ap.add_argument("--shape", help="shape of raw files, e.g. 4,8")
    ap.add_argument("--chunk", type=int, default=1 << 20,
                    help="elements per chunk (1<<20 was fastest here: bigger temporaries page-fault)")
    ap.add_argument("--indent", type=int, default=None)
    ap.add_argument("--manifest", metavar="PAIRS_JSON",
                    help="run every case of a testdata/pairs/pairs.json in one process and print "
                         '{"cases": {NAME: {"exit": N, "report": {...}, "error": "..."}}}')
    ap.add_argument("--skip-needing", action="append", default=[], metavar="MODULE",
                    help="with --manifest: leave out cases whose 'needs' lists MODULE (e.g. torch)")
    return ap


def run_one(args):
    """(exit status, report or None, error message or None)."""
    for v, nm in ((args.atol, "--atol"), (args.rtol, "--rtol")):
        if v is not None and (math.isnan(v) or v < 0):
            return 2, None, "%s must be a non-negative number" % nm
    try:
        ref = open_source(args.ref, args)
        ours = open_source(args.ours, args)
        rep = report(ref, ours, args)
    except Exception as e:  # noqa: BLE001 - any input problem is exit 2
        return 2, None, str(e)
    return (0 if rep["pass"] else 1), rep, None


def run_manifest(args):
    with open(args.manifest) as f:
        cases = json.load(f)["cases"]
    base = os.path.dirname(args.manifest)
    out = {}
    for c in cases:
        if any(m in (c.get("needs") or []) for m in args.skip_needing):
            continue
        a = parser().parse_args(list(c.get("flags") or []) + [
            os.path.join(base, c["ref"]), os.path.join(base, c["ours"])])
        code, rep, err = run_one(a)
        out[c["name"]] = {"exit": code, "report": rep, "error": err}
    return {"cases": out}


def main(argv=None):
    ap = parser()
    args = ap.parse_args(argv)
    if args.manifest:
        json.dump(encode(run_manifest(args)), sys.stdout, indent=args.indent, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    if args.ref is None or args.ours is None:
        ap.error("REF and OURS are required (or --manifest)")
    code, rep, err = run_one(args)
    if err is not None:
        print("numpy_report: %s" % err, file=sys.stderr)
        return code
    json.dump(encode(rep), sys.stdout, indent=args.indent, allow_nan=False)
    sys.stdout.write("\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
