#!/usr/bin/env python3
"""make_fixtures.py: generate the tensor pairs under testdata/pairs/.

Usage (from the repository root):
    /usr/bin/python3 scripts/make_fixtures.py [--out testdata/pairs] [--no-golden]

Each pair lives in its own directory, testdata/pairs/<pair>/, as ref.<ext> and
ours.<ext> (a raw .bin carries a sidecar ref.json / ours.json). The manifest
testdata/pairs/pairs.json lists every case: a case is a pair plus the flags to
run it with, so one pair can appear twice (e.g. with and without --equal-nan).
Fields of a case:
    name     unique case name
    ref      path of REF relative to testdata/pairs
    ours     path of OURS relative to testdata/pairs
    flags    extra flags for both `refcmp tensors` and scripts/numpy_report.py
    pass     the expected verdict (true: exit 0, false: exit 1)
    needs    python modules the oracle needs to read the pair
    about    what the case is for
For every case the numpy oracle's report is also committed as
testdata/pairs/golden/<name>.json (scripts/numpy_report.py --indent 1), so a
test can compare refcmp with numpy's numbers even where numpy is absent.

Everything is deterministic: fixed seeds, and legacy torch files have their
storage keys (memory addresses in torch.save) rewritten to fixed ones.
Needs numpy and torch (Debian: python3-numpy python3-torch, /usr/bin/python3).
The safetensors files are written by the small pure-Python writer below (the
safetensors package is not needed).
"""

import argparse
import json
import os
import re
import shutil
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = []


def case(name, ref, ours, ok, about, flags=(), needs=("numpy",)):
    CASES.append({"name": name, "ref": ref, "ours": ours, "flags": list(flags),
                  "pass": ok, "needs": list(needs), "about": about})


def rng(seed):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- writers

def mkdir(out, pair):
    d = os.path.join(out, pair)
    os.makedirs(d, exist_ok=True)
    return d


def save_npy(path, arr, fortran=False):
    if fortran:
        arr = np.asfortranarray(arr)
    np.save(path, arr, allow_pickle=False)
    assert (np.load(path).tobytes() == np.ascontiguousarray(arr).tobytes())


def bf16_bits(a):
    """float32 array -> bf16 bits (uint16), rounding to nearest even via torch."""
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(torch.bfloat16)
    return t.view(torch.int16).numpy().view(np.uint16)


ST_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
         "I8": "i1", "U8": "u1", "BOOL": "?", "BF16": "<u2", "F8_E4M3": "u1", "F8_E5M2": "u1"}


def save_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, array of stored bits/values)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs = []
    off = 0
    for name, dt, shape, arr in tensors:
        b = np.ascontiguousarray(arr, dtype=np.dtype(ST_NP[dt])).tobytes()
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def save_pt(path, obj, legacy=False):
    if not legacy:
        torch.save(obj, path)
        return
    # torch writes the storages in sorted(key) order, keys being memory
    # addresses; keep them in the (deterministic) order they were pickled.
    ser = torch.serialization
    ser.sorted = list
    try:
        torch.save(obj, path, _use_new_zipfile_serialization=False)
    finally:
        del ser.sorted
    # Storage keys are str(storage._cdata), a memory address: rewrite them to
    # fixed strings of the same length so the bytes are reproducible.
    data = open(path, "rb").read()
    # Keys are pickled (protocol 2) as BINUNICODE: b"X" + uint32 length + digits.
    keys = []
    for m in re.finditer(rb"X(.{4})(\d{6,20})", data, re.S):
        (n,) = struct.unpack("<I", m.group(1))
        if n == len(m.group(2)):
            keys.append(m.group(2))
    seen = []
    for k in keys:
        if k not in seen:
            seen.append(k)
    for i, k in enumerate(seen):
        data = data.replace(k, str(i).zfill(len(k)).encode())
    with open(path, "wb") as f:
        f.write(data)
    back = torch.load(path)
    _assert_same(obj, back)


def _assert_same(a, b):
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, "legacy rewrite changed a tensor"
        if a.dtype.is_floating_point:
            assert torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(), b.nan_to_num())
        else:
            assert torch.equal(a, b), "legacy rewrite changed a tensor"
    else:
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])


def save_raw(path, arr, dtype, sidecar=True):
    arr = np.ascontiguousarray(arr)
    with open(path, "wb") as f:
        f.write(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
    if sidecar:
        with open(os.path.splitext(path)[0] + ".json", "w") as f:
            json.dump({"dtype": dtype, "shape": list(arr.shape)}, f)
            f.write("\n")


def f32(a):
    return np.asarray(a, dtype=np.float32)


# ---------------------------------------------------------------- pairs

def gen_npy(out):
    # f32 within tolerance
    r = rng(1)
    ref = f32(r.standard_normal((4, 5, 6)))
    ours = f32(ref * (1 + 2e-7 * r.standard_normal(ref.shape)))
    d = mkdir(out, "f32_close")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("f32_close", "f32_close/ref.npy", "f32_close/ours.npy", True,
         "F32 npy, ours = ref * (1 + 2e-7 noise): within the F32 default tolerance")

    # f32 with planted mismatches
    r = rng(2)
    ref = f32(r.standard_normal((16, 32)))
    ours = f32(ref + f32(1e-7 * r.standard_normal(ref.shape)))
    for (i, j, v) in ((0, 5, 1e-3), (3, 7, -2e-3), (9, 31, 5e-2), (15, 0, 1e-4), (15, 31, 3e-3)):
        ours[i, j] = ref[i, j] + v
    d = mkdir(out, "f32_fail")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("f32_fail", "f32_fail/ref.npy", "f32_fail/ours.npy", False,
         "F32 npy 16x32, five planted mismatches; worst at [9 31], first at [0 5]")

    # f32 with a large offset: std needs a stable algorithm
    r = rng(3)
    ref = f32(1000 + 1e-3 * r.standard_normal((64, 64)))
    ours = f32(ref + 1e-4 * r.standard_normal((64, 64)))
    d = mkdir(out, "f32_offset")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("f32_offset", "f32_offset/ref.npy", "f32_offset/ours.npy", True,
         "F32 npy around 1000 with spread 1e-3: std and nmse need a numerically stable pass "
         "(sum of squares minus square of sum loses the answer); all close under rtol")

    # f64
    r = rng(4)
    ref = r.standard_normal(50)
    ours = ref + 1e-9 * r.standard_normal(50)
    ours[[7, 8, 40]] += [1e-6, -3e-6, 2e-5]
    d = mkdir(out, "f64_fail")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("f64_fail", "f64_fail/ref.npy", "f64_fail/ours.npy", False,
         "F64 npy, 1e-9 noise plus three mismatches above the F64 tolerance 1e-7/1e-7")

    # f64 edge values that compare equal: signed zeros, subnormals, exact copies
    ref = np.array([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.0, -1.0,
                    1e150, -1e150, np.nextafter(1.0, 2.0)], dtype=np.float64)
    ours = ref.copy()
    ours[0], ours[1] = -0.0, 0.0
    ours[2] = 0.0  # subnormal vs zero: |d| = 5e-324 <= atol
    ours[9] = 1.0  # one ulp apart: within rtol
    d = mkdir(out, "f64_edges")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("f64_edges", "f64_edges/ref.npy", "f64_edges/ours.npy", True,
         "F64: 0 vs -0, subnormal vs 0, values one ulp apart, +-1e150: all close")

    case("f64_edges_exact", "f64_edges/ref.npy", "f64_edges/ours.npy", False,
         "f64_edges with --exact: 0 vs -0, the subnormal and the ulp differ bitwise (4 mismatches)",
         flags=["--exact"])
    case("f32_fail_loose", "f32_fail/ref.npy", "f32_fail/ours.npy", True,
         "f32_fail with --atol 0.06 --rtol 0: every planted error is within 0.06",
         flags=["--atol", "0.06", "--rtol", "0"])

    # f16 npy (numpy writes '<f2')
    r = rng(5)
    ref = r.standard_normal((8, 8)).astype(np.float16)
    ours = (ref.astype(np.float32) * (1 + f32(8e-4 * r.standard_normal((8, 8))))).astype(np.float16)
    d = mkdir(out, "f16_fail")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("f16_fail", "f16_fail/ref.npy", "f16_fail/ours.npy", False,
         "F16 npy, ours = f16(ref * (1 + 8e-4 noise)): some elements beyond rtol 1e-3")

    # integers and bool
    r = rng(6)
    ref = r.integers(-128, 128, size=(10, 10), dtype=np.int8)
    ours = ref.copy()
    ours[2, 3] = np.int8(-ref[2, 3] if ref[2, 3] not in (0, -128) else 7)
    ours[9, 9] = np.int8(127 if ref[9, 9] != 127 else 126)
    d = mkdir(out, "int8_fail")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("int8_fail", "int8_fail/ref.npy", "int8_fail/ours.npy", False,
         "I8 npy, two elements differ (integers compare exactly)")

    ref = r.integers(-2**31, 2**31, size=(7, 3), dtype=np.int32)
    d = mkdir(out, "int32_equal")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ref.copy())
    case("int32_equal", "int32_equal/ref.npy", "int32_equal/ours.npy", True,
         "I32 npy, identical (extremes of the range)")

    ref = r.integers(-10**6, 10**6, size=40, dtype=np.int64)
    ours = ref.copy()
    ours[[0, 39]] += [1, -1]
    d = mkdir(out, "int64_fail")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("int64_fail", "int64_fail/ref.npy", "int64_fail/ours.npy", False,
         "I64 npy, first and last elements off by one")

    ref = np.array([2**60, 2**60 + 1, -2**62, 2**53, 3], dtype=np.int64)
    ours = ref.copy()
    ours[1] = 2**60 + 2  # same float64 as 2**60 + 1? no: both round to 2**60
    d = mkdir(out, "int64_big")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("int64_big", "int64_big/ref.npy", "int64_big/ours.npy", False,
         "I64 beyond 2**53: 2**60+1 vs 2**60+2 are equal in float64 but must mismatch "
         "(exact integer compare); max_abs_diff is exact too: 1, worst at [1]")

    ref = np.array([0, 255, 128, 1, 200, 7], dtype=np.uint8)
    ours = ref.copy()
    ours[0], ours[1] = 255, 0
    d = mkdir(out, "uint8_fail")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("uint8_fail", "uint8_fail/ref.npy", "uint8_fail/ours.npy", False,
         "U8 npy, 0 vs 255 and 255 vs 0: |d| = 255, no wrap-around")

    ref = rng(7).random((5, 6)) > 0.5
    ours = ref.copy()
    ours[4, 5] = not ours[4, 5]
    d = mkdir(out, "bool_fail")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("bool_fail", "bool_fail/ref.npy", "bool_fail/ours.npy", False,
         "BOOL npy, last element flipped; values are 0/1")


def gen_chunks(out):
    # More elements than refcmp's chunk (65536) and block (1024) sizes, so
    # per-chunk results are merged: ties for the worst element across
    # chunks, NaN in a late chunk, the first mismatch in the middle one.
    r = rng(8)
    n = 140 * 1000
    ref = r.standard_normal(n).astype(np.float16)
    ours = ref.copy()
    small = r.integers(0, n, size=300)
    ours[small] = (ref[small].astype(np.float32) * np.float32(1.0004)).astype(np.float16)
    ours[66000] = (ref[66000].astype(np.float32) * np.float32(1.01)).astype(np.float16)
    for i in (70000, 70001, 135000):  # equal |d| = 4: worst is the first, 70000
        ref[i], ours[i] = 0, 4
    ref[100000] = ours[100000] = np.nan
    ours[120000] = np.inf
    ref, ours = ref.reshape(140, 1000), ours.reshape(140, 1000)
    d = mkdir(out, "f16_chunks")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("f16_chunks", "f16_chunks/ref.npy", "f16_chunks/ours.npy", False,
         "F16 [140 1000], more than two 65536-element chunks: |d| = 4 at flat 70000, 70001 and "
         "135000 (worst is [70 0]), NaN on both sides at [100 0], +Inf introduced at [120 0], "
         "first mismatch at [66 0] (x1.01), 300 elements scaled by 1.0004 (within rtol 1e-3)")
    case("f16_chunks_equal_nan", "f16_chunks/ref.npy", "f16_chunks/ours.npy", False,
         "f16_chunks with --equal-nan: the NaN pair matches, the rest still fails",
         flags=["--equal-nan"])


def gen_nonfinite(out):
    r = rng(10)
    ref = f32(r.standard_normal((6, 6)))
    ref[0, 1] = ref[4, 4] = np.nan
    ref[2, 2] = np.inf
    ref[3, 0] = -np.inf
    ours = ref.copy()
    ours[5, 5] += f32(1e-7)
    d = mkdir(out, "nan_both")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("nan_both", "nan_both/ref.npy", "nan_both/ours.npy", False,
         "F32 with NaN at the same two places on both sides and matching +-Inf: "
         "NaN != NaN by default, so 2 mismatches")
    case("nan_both_equal_nan", "nan_both/ref.npy", "nan_both/ours.npy", True,
         "the nan_both pair with --equal-nan: passes", flags=["--equal-nan"])

    ref = f32(r.standard_normal(20))
    ref[[3, 11]] = [np.inf, -np.inf]
    ours = ref.copy()
    d = mkdir(out, "inf_same")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("inf_same", "inf_same/ref.npy", "inf_same/ours.npy", True,
         "F32 with +Inf and -Inf at the same places: infinities match the same infinity")

    ours = ref.copy()
    ours[3] = -np.inf
    ours[11] = f32(3.0e38)
    d = mkdir(out, "inf_sign")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("inf_sign", "inf_sign/ref.npy", "inf_sign/ours.npy", False,
         "+Inf vs -Inf, and -Inf vs a finite 3e38: two mismatches")

    ref = f32(r.standard_normal((4, 8)))
    ours = f32(ref + f32(1e-8))
    ours[1, 2] = np.nan
    ours[2, 6] = np.inf
    ours[3, 7] = np.nan
    d = mkdir(out, "nan_introduced")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("nan_introduced", "nan_introduced/ref.npy", "nan_introduced/ours.npy", False,
         "ref finite; ours has NaN at [1 2] and [3 7] and +Inf at [2 6]: introduced, "
         "3 mismatches, even with --equal-nan")
    case("nan_introduced_equal_nan", "nan_introduced/ref.npy", "nan_introduced/ours.npy", False,
         "nan_introduced with --equal-nan: still fails", flags=["--equal-nan"])

    ref = f32(r.standard_normal(9))
    ours = np.full(9, np.nan, dtype=np.float32)
    d = mkdir(out, "all_nan_ours")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("all_nan_ours", "all_nan_ours/ref.npy", "all_nan_ours/ours.npy", False,
         "ours all NaN: no finite pair, so every difference statistic is NaN and worst is null")

    ref = np.zeros((3, 3), dtype=np.float32)
    d = mkdir(out, "zeros")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ref.copy())
    case("zeros", "zeros/ref.npy", "zeros/ours.npy", True,
         "both all zeros: cosine 1 (both norms 0), nmse 0 (var(ref) = 0 and mse = 0)")

    ref = np.full(12, 2.0, dtype=np.float64)
    ours = ref + 1e-3
    d = mkdir(out, "const_ref")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("const_ref", "const_ref/ref.npy", "const_ref/ours.npy", False,
         "ref constant 2.0, ours 2.001: var(ref) = 0 with mse > 0, so nmse is +Inf")

    ref = f32(r.standard_normal(10))
    ours = np.zeros(10, dtype=np.float32)
    d = mkdir(out, "zeros_ours")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ours)
    case("zeros_ours", "zeros_ours/ref.npy", "zeros_ours/ours.npy", False,
         "ours all zeros: cosine 0 (one norm is 0), nmse near 1")


def gen_shapes(out):
    d = mkdir(out, "scalar_npy")
    save_npy(f"{d}/ref.npy", np.array(1.5, dtype=np.float32))
    save_npy(f"{d}/ours.npy", np.array(1.5001, dtype=np.float32))
    case("scalar_npy", "scalar_npy/ref.npy", "scalar_npy/ours.npy", False,
         "0-d F32 npy: 1.5 vs 1.5001, index [] for worst and first_mismatch")

    d = mkdir(out, "scalar_pt")
    save_pt(f"{d}/ref.pt", torch.tensor(3.25, dtype=torch.float64))
    save_pt(f"{d}/ours.pt", torch.tensor(3.25, dtype=torch.float64))
    case("scalar_pt", "scalar_pt/ref.pt", "scalar_pt/ours.pt", True,
         "0-d F64 tensor saved by torch.save (zip), identical", needs=["numpy", "torch"])

    d = mkdir(out, "empty_1d")
    save_npy(f"{d}/ref.npy", np.zeros(0, dtype=np.float32))
    save_npy(f"{d}/ours.npy", np.zeros(0, dtype=np.float32))
    case("empty_1d", "empty_1d/ref.npy", "empty_1d/ours.npy", True,
         "shape [0] F32: passes; stats NaN, mismatch_fraction 0")

    d = mkdir(out, "empty_2d")
    save_npy(f"{d}/ref.npy", np.zeros((3, 0), dtype=np.float64))
    save_npy(f"{d}/ours.npy", np.zeros((3, 0), dtype=np.float64))
    case("empty_2d", "empty_2d/ref.npy", "empty_2d/ours.npy", True, "shape [3 0] F64: passes")

    r = rng(20)
    ref = r.standard_normal((3, 4, 5)).astype(np.float32)
    d = mkdir(out, "big_endian")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ref.astype(">f4"))
    case("big_endian", "big_endian/ref.npy", "big_endian/ours.npy", True,
         "same F32 values, ref '<f4' and ours '>f4'")
    case("big_endian_exact", "big_endian/ref.npy", "big_endian/ours.npy", True,
         "big_endian with --exact: bitwise equal once byte order is normalised", flags=["--exact"])

    ref = r.standard_normal((5, 2))
    ours = ref.copy()
    ours[4, 1] += 1e-3
    d = mkdir(out, "big_endian_f64")
    save_npy(f"{d}/ref.npy", ref.astype(">f8"))
    save_npy(f"{d}/ours.npy", ours.astype(">f8"))
    case("big_endian_f64", "big_endian_f64/ref.npy", "big_endian_f64/ours.npy", False,
         "both '>f8', one mismatch at [4 1]")

    ref = r.integers(-1000, 1000, size=(4, 3), dtype=np.int32)
    d = mkdir(out, "big_endian_i32")
    save_npy(f"{d}/ref.npy", ref.astype(">i4"))
    save_npy(f"{d}/ours.npy", ref)
    case("big_endian_i32", "big_endian_i32/ref.npy", "big_endian_i32/ours.npy", True,
         "same I32 values, ref '>i4' and ours '<i4'")

    ref = r.standard_normal((3, 4, 5)).astype(np.float32)
    d = mkdir(out, "fortran")
    save_npy(f"{d}/ref.npy", ref)
    save_npy(f"{d}/ours.npy", ref, fortran=True)
    case("fortran", "fortran/ref.npy", "fortran/ours.npy", True,
         "same values, ours stored in Fortran order: compared in logical C order")

    ours = ref.copy()
    ours[1, 2, 3] += 0.5
    ours[2, 0, 1] += 0.25
    d = mkdir(out, "fortran_fail")
    save_npy(f"{d}/ref.npy", ref, fortran=True)
    save_npy(f"{d}/ours.npy", ours, fortran=True)
    case("fortran_fail", "fortran_fail/ref.npy", "fortran_fail/ours.npy", False,
         "both Fortran order; mismatches at logical [1 2 3] (first, worst) and [2 0 1]: "
         "in memory order [2 0 1] comes first")


def gen_npz(out):
    r = rng(30)
    a = f32(r.standard_normal((4, 4)))
    b = r.integers(0, 100, size=5).astype(np.int64)
    c = r.standard_normal((3, 3)).astype(np.float16)
    d = mkdir(out, "npz")
    np.savez(f"{d}/ref.npz", zeta=a, b=b, c=c, only_ref=np.arange(3, dtype=np.float32))
    b2 = b.copy()
    b2[2] += 1
    np.savez_compressed(f"{d}/ours.npz", zeta=a, b=b2, c=c, only_ours=np.ones(2, dtype=np.float32))
    case("npz", "npz/ref.npz", "npz/ours.npz", False,
         "ref .npz stored, ours .npz deflated; member 'b' differs at [2]; 'only_ref' and "
         "'only_ours' on one side; report order is ref's insertion order (zeta, b, c)")

    d = mkdir(out, "npz_equal")
    np.savez(f"{d}/ref.npz", x=a, y=c)
    np.savez_compressed(f"{d}/ours.npz", x=a, y=c)
    case("npz_equal", "npz_equal/ref.npz", "npz_equal/ours.npz", True,
         "stored vs deflated .npz with the same members")


def state_dict(seed, dtype_w=torch.float32):
    g = torch.Generator().manual_seed(seed)
    sd = {}
    sd["conv.weight"] = torch.randn(4, 2, 3, 3, generator=g).to(dtype_w)
    sd["conv.bias"] = torch.randn(4, generator=g).to(dtype_w)
    sd["bn.running_mean"] = torch.randn(4, generator=g)
    sd["bn.num_batches_tracked"] = torch.tensor(17, dtype=torch.int64)
    sd["fc.weight"] = torch.randn(3, 36, generator=g).to(torch.float16)
    sd["fc.bias"] = torch.randn(3, generator=g).to(torch.float64)
    return sd


def gen_pt(out):
    needs = ["numpy", "torch"]
    ref = state_dict(40)
    ours = {k: v.clone() for k, v in ref.items()}
    ours["conv.weight"] = (ref["conv.weight"] * (1 + 1e-7 * torch.randn(4, 2, 3, 3,
                                                                         generator=torch.Generator().manual_seed(41))))
    d = mkdir(out, "pt_zip_legacy")
    save_pt(f"{d}/ref.pt", ref)
    save_pt(f"{d}/ours.pt", ours, legacy=True)
    case("pt_zip_legacy", "pt_zip_legacy/ref.pt", "pt_zip_legacy/ours.pt", True,
         "state dict, ref zip .pt and ours legacy .pt (F32, F16, F64, I64 scalar); "
         "conv.weight within F32 tolerance", needs=needs)

    ours = {k: v.clone() for k, v in ref.items()}
    ours["fc.weight"][1, 7] += 0.5
    ours["bn.num_batches_tracked"] = torch.tensor(18, dtype=torch.int64)
    ours["conv.bias"][0] = float("nan")
    d = mkdir(out, "pt_legacy")
    save_pt(f"{d}/ref.pt", ref, legacy=True)
    save_pt(f"{d}/ours.pt", ours, legacy=True)
    case("pt_legacy", "pt_legacy/ref.pt", "pt_legacy/ours.pt", False,
         "both legacy .pt: NaN introduced in conv.bias (first failure in insertion order), "
         "I64 scalar 17 vs 18, fc.weight off at [1 7]", needs=needs)

    g = torch.Generator().manual_seed(42)
    w = torch.randn(16, 16, generator=g).to(torch.bfloat16)
    b = torch.randn(16, generator=g).to(torch.bfloat16)
    w2 = (w.float() * (1 + 0.01 * torch.randn(16, 16, generator=g))).to(torch.bfloat16)
    b2 = b.clone()
    d = mkdir(out, "bf16_pt")
    save_pt(f"{d}/ref.pt", {"w": w, "b": b})
    save_pt(f"{d}/ours.pt", {"w": w2, "b": b2})
    case("bf16_pt", "bf16_pt/ref.pt", "bf16_pt/ours.pt", False,
         "BF16 tensors in zip .pt; w = bf16(w * (1 + 0.01 noise)): some beyond rtol 1.6e-2",
         needs=needs)

    x = torch.randn(8, 8, generator=g)
    d = mkdir(out, "mixed_pt")
    save_pt(f"{d}/ref.pt", {"x": x})
    save_pt(f"{d}/ours.pt", {"x": x.to(torch.bfloat16)})
    case("mixed_pt", "mixed_pt/ref.pt", "mixed_pt/ours.pt", True,
         "ref F32, ours BF16 (rounded): passes under the looser BF16 tolerance", needs=needs)
    case("mixed_pt_exact", "mixed_pt/ref.pt", "mixed_pt/ours.pt", False,
         "mixed_pt with --exact: F32 vs BF16 values compared bitwise after decoding", flags=["--exact"],
         needs=needs)
    case("bf16_pt_exact", "bf16_pt/ref.pt", "bf16_pt/ours.pt", False,
         "bf16_pt with --exact: stored BF16 bits compared; b is identical", flags=["--exact"], needs=needs)

    single = torch.randn(2, 3, generator=g)
    d = mkdir(out, "pt_tensor")
    save_pt(f"{d}/ref.pt", single)
    save_pt(f"{d}/ours.pt", single + 1e-3, legacy=True)
    case("pt_tensor", "pt_tensor/ref.pt", "pt_tensor/ours.pt", False,
         "a bare tensor (not a dict) in each .pt, zip vs legacy; all 6 elements off by 1e-3",
         needs=needs)


def f8_values(table, r, n):
    ok = np.flatnonzero(np.isfinite(table))
    return r.choice(ok, size=n).astype(np.uint8)


def gen_safetensors(out):
    sys.path.insert(0, HERE)
    import numpy_report as nr

    r = rng(50)
    ref = []
    ours = []
    # layers.0 .. layers.11, F32; failures in layers.2 and layers.10:
    # natural order puts layers.2 first, lexicographic would put layers.10 first.
    for i in range(12):  # the other tensors are named t.* to sort after layers.*
        x = f32(r.standard_normal((3, 4)))
        y = x.copy()
        if i in (2, 10):
            y[1, 1] += 0.1
        ref.append((f"layers.{i}.weight", "F32", x.shape, x))
        ours.append((f"layers.{i}.weight", "F32", y.shape, y))
    f16 = r.standard_normal((2, 5)).astype(np.float16)
    ref.append(("t.h16", "F16", f16.shape, f16))
    ours.append(("t.h16", "F16", f16.shape, f16))
    bfa = f32(r.standard_normal((3, 3)))
    bfb = bfa.copy()
    bfb[0, 0] *= 1.5
    ref.append(("t.bf", "BF16", bfa.shape, bf16_bits(bfa)))
    ours.append(("t.bf", "BF16", bfb.shape, bf16_bits(bfb)))
    e4 = f8_values(nr.F8_E4M3_TABLE, r, 16)
    e4o = e4.copy()
    e4o[3] ^= 1  # one unit in the last place
    e4o[9] ^= 0x08  # exponent bit: far off
    ref.append(("t.f8a", "F8_E4M3", (4, 4), e4))
    ours.append(("t.f8a", "F8_E4M3", (4, 4), e4o))
    e5 = f8_values(nr.F8_E5M2_TABLE, r, 8)
    e5[2] = 0x7C  # +Inf in E5M2
    ref.append(("t.f8b", "F8_E5M2", (8,), e5))
    ours.append(("t.f8b", "F8_E5M2", (8,), e5.copy()))
    i32 = r.integers(-50, 50, size=6).astype(np.int32)
    ref.append(("t.i32", "I32", (6,), i32))
    ours.append(("t.i32", "I32", (6,), i32))
    u8 = r.integers(0, 256, size=7).astype(np.uint8)
    ref.append(("t.u8", "U8", (7,), u8))
    ours.append(("t.u8", "U8", (7,), u8))
    bl = r.random(5) > 0.5
    ref.append(("t.mask", "BOOL", (5,), bl))
    ours.append(("t.mask", "BOOL", (5,), bl))
    f64 = r.standard_normal(4)
    ref.append(("t.d", "F64", (4,), f64))
    ours.append(("t.d", "F64", (4,), f64))
    ref.append(("t.steps", "I64", (), np.array(5, dtype=np.int64)))
    ours.append(("t.steps", "I64", (), np.array(5, dtype=np.int64)))
    d = mkdir(out, "safetensors_multi")
    save_safetensors(f"{d}/ref.safetensors", ref)
    # ours: a different header order and with metadata
    save_safetensors(f"{d}/ours.safetensors", list(reversed(ours)), metadata={"format": "pt"})
    case("safetensors_multi", "safetensors_multi/ref.safetensors", "safetensors_multi/ours.safetensors",
         False,
         "every safetensors dtype incl. F8_E4M3/F8_E5M2 (bit-decoded) and an I64 scalar; "
         "failures in layers.2 and layers.10 (first_failure layers.2 by natural sort), "
         "t.bf[0 0] x1.5, t.f8a with a 1-ulp change (passes) and an exponent-bit change (fails)")

    d = mkdir(out, "safetensors_equal")
    save_safetensors(f"{d}/ref.safetensors", ref[12:])
    save_safetensors(f"{d}/ours.safetensors", list(reversed(ref[12:])))
    case("safetensors_equal", "safetensors_equal/ref.safetensors", "safetensors_equal/ours.safetensors",
         True, "identical tensors, header order reversed")

    x = f32(r.standard_normal((4, 6)))
    z = f32(r.standard_normal(3))
    d = mkdir(out, "safetensors_shape")
    save_safetensors(f"{d}/ref.safetensors", [("w", "F32", (4, 6), x), ("z", "F32", (3,), z)])
    save_safetensors(f"{d}/ours.safetensors", [("w", "F32", (6, 4), x.T.copy()), ("z", "F32", (3,), z)])
    case("safetensors_shape", "safetensors_shape/ref.safetensors", "safetensors_shape/ours.safetensors",
         False, "w is [4 6] in ref and its transpose [6 4] in ours: a shape mismatch, reported per pair")

    x = f32(r.standard_normal((10, 10)))
    y = f32(r.standard_normal(50))
    y2 = y.copy()
    y2[[5, 17, 42]] += [0.5, -1.0, 0.25]
    d = mkdir(out, "mixed_f32_bf16")
    save_safetensors(f"{d}/ref.safetensors", [("x", "F32", x.shape, x), ("y", "F32", y.shape, y)])
    save_safetensors(f"{d}/ours.safetensors", [("x", "BF16", x.shape, bf16_bits(x)),
                                               ("y", "BF16", y.shape, bf16_bits(y2))])
    case("mixed_f32_bf16", "mixed_f32_bf16/ref.safetensors", "mixed_f32_bf16/ours.safetensors", False,
         "ref F32, ours BF16: x only rounded (passes at BF16 tolerance), y with three "
         "planted errors")

    # sharded index vs a single file
    d = mkdir(out, "sharded")
    t = [(f"blk.{i}", "F32", (2, 3), f32(r.standard_normal((2, 3)))) for i in range(5)]
    save_safetensors(f"{d}/ref-00001-of-00002.safetensors", t[:3], metadata={"format": "pt"})
    save_safetensors(f"{d}/ref-00002-of-00002.safetensors", t[3:], metadata={"format": "pt"})
    with open(f"{d}/ref.safetensors.index.json", "w") as f:
        json.dump({"metadata": {"total_size": sum(a.nbytes for _, _, _, a in t)},
                   "weight_map": {n: ("ref-00001-of-00002.safetensors" if i < 3 else
                                      "ref-00002-of-00002.safetensors")
                                  for i, (n, _, _, _) in enumerate(t)}}, f, indent=2)
        f.write("\n")
    t2 = list(t)
    a = t[4][3].copy()
    a[1, 2] += 1.0
    t2[4] = ("blk.4", "F32", (2, 3), a)
    save_safetensors(f"{d}/ours.safetensors", t2)
    case("sharded", "sharded/ref.safetensors.index.json", "sharded/ours.safetensors", False,
         "ref a sharded index over two shards, ours one file; blk.4 differs at [1 2]")


def gen_order(out):
    r = rng(80)
    x = {n: f32(r.standard_normal(4)) for n in ("step.1", "step.2", "step.10")}
    y = {n: v.copy() for n, v in x.items()}
    y["step.1"][0] += 1
    y["step.10"][1] += 1
    order = json.dumps(["step.10", "step.2", "step.1"])
    d = mkdir(out, "order_metadata")
    save_safetensors(f"{d}/ref.safetensors", [(n, "F32", (4,), v) for n, v in x.items()],
                     metadata={"refcmp.order": order})
    save_safetensors(f"{d}/ours.safetensors", [(n, "F32", (4,), v) for n, v in y.items()])
    case("order_metadata", "order_metadata/ref.safetensors", "order_metadata/ours.safetensors", False,
         "REF's __metadata__ refcmp.order = step.10, step.2, step.1: first_failure step.10 "
         "(natural order would say step.1)")

    x = {n: f32(r.standard_normal(3)) for n in ("a", "b", "c")}
    y = {n: v.copy() for n, v in x.items()}
    y["b"][0] += 1
    y["c"][0] += 1
    d = mkdir(out, "order_ours_insertion")
    save_safetensors(f"{d}/ref.safetensors", [(n, "F32", (3,), v) for n, v in x.items()])
    np.savez(f"{d}/ours.npz", c=y["c"], a=y["a"], b=y["b"])
    case("order_ours_insertion", "order_ours_insertion/ref.safetensors", "order_ours_insertion/ours.npz",
         False, "REF safetensors keeps no order, OURS .npz has members c, a, b: that order is used, "
         "so first_failure is c (natural order would say b)")


def gen_raw(out):
    r = rng(60)
    ref = f32(r.standard_normal((6, 7)))
    ours = ref.copy()
    ours[5, 6] += 1.0
    ours[0, 3] -= 0.01
    d = mkdir(out, "raw_sidecar")
    save_raw(f"{d}/ref.bin", ref, "F32")
    save_raw(f"{d}/ours.bin", ours, "F32")
    case("raw_sidecar", "raw_sidecar/ref.bin", "raw_sidecar/ours.bin", False,
         "raw F32 .bin with sidecar ref.json / ours.json giving dtype and shape [6 7]; "
         "mismatches at [0 3] and [5 6]")

    ref = r.standard_normal((4, 8)).astype(np.float16)
    d = mkdir(out, "raw_flags")
    save_raw(f"{d}/ref.bin", ref, "F16", sidecar=False)
    save_raw(f"{d}/ours.bin", ref, "F16", sidecar=False)
    case("raw_flags", "raw_flags/ref.bin", "raw_flags/ours.bin", True,
         "raw F16 .bin without sidecar, read with --dtype f16 --shape 4,8; identical",
         flags=["--dtype", "f16", "--shape", "4,8"])


def gen_dir(out):
    r = rng(70)
    a = f32(r.standard_normal((2, 3)))
    b = r.standard_normal(4)
    l0 = f32(r.standard_normal(5))
    l1 = f32(r.standard_normal(5))
    for side in ("ref", "ours"):
        d = mkdir(out, "dir_pair/" + side)
        os.makedirs(f"{d}/sub", exist_ok=True)
        save_npy(f"{d}/a.npy", a)
        bb = b.copy()
        ll1 = l1.copy()
        if side == "ours":
            bb[3] += 1e-3
            ll1[0] = -ll1[0]
            save_npy(f"{d}/extra.npy", np.zeros(2, dtype=np.float32))
        save_npy(f"{d}/sub/b.npy", bb)
        np.savez(f"{d}/acts.npz", l0=l0, l1=ll1)
        with open(f"{d}/notes.txt", "w") as f:
            f.write("not a tensor file: skipped\n")
    case("dir_pair", "dir_pair/ref", "dir_pair/ours", False,
         "directories paired by relative path: a.npy, sub/b.npy (differs at [3]), acts.npz/l0, "
         "acts.npz/l1 (sign of [0] flipped; first failure by natural sort), extra.npy only in ours")


def golden(out):
    """Write golden/<case>.json: numpy_report.py's report of every case (in
    this process, as `numpy_report.py --indent 1 FLAGS REF OURS` prints it)."""
    sys.path.insert(0, HERE)
    import numpy_report as nr

    gd = os.path.join(out, "golden")
    os.makedirs(gd, exist_ok=True)
    for c in CASES:
        args = nr.parser().parse_args(c["flags"] + [os.path.join(out, c["ref"]), os.path.join(out, c["ours"])])
        code, rep, err = nr.run_one(args)
        want = 0 if c["pass"] else 1
        if code != want:
            sys.exit("case %s: numpy_report exit %d, want %d: %s" % (c["name"], code, want, err))
        with open(os.path.join(gd, c["name"] + ".json"), "w") as f:
            json.dump(nr.encode(rep), f, indent=1, allow_nan=False)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description="generate testdata/pairs")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "testdata", "pairs"))
    ap.add_argument("--no-golden", action="store_true")
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    torch.manual_seed(0)
    gen_npy(out)
    gen_chunks(out)
    gen_nonfinite(out)
    gen_shapes(out)
    gen_npz(out)
    gen_pt(out)
    gen_safetensors(out)
    gen_order(out)
    gen_raw(out)
    gen_dir(out)
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    with open(os.path.join(out, "pairs.json"), "w") as f:
        json.dump({"about": "tensor pairs made by scripts/make_fixtures.py; expected numbers "
                            "in golden/<name>.json (scripts/numpy_report.py)",
                   "cases": CASES}, f, indent=1)
        f.write("\n")
    if not args.no_golden:
        golden(out)
    print("wrote %d cases to %s" % (len(CASES), out))


if __name__ == "__main__":
    main()
