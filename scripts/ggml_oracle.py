#!/usr/bin/env python3
"""llama.cpp's own GGUF reader, dequantizer and quantizer, through ctypes.

refcmp's GGUF code is checked against ggml itself, not against code of
ours: this script loads libggml-base.so from the npm package
@node-llama-cpp/linux-x64 (pinned in .ci/run) and calls

  gguf_init_from_file (no_alloc), gguf_get_version/alignment/data_offset,
  gguf_get_n_kv, gguf_get_n_tensors, gguf_get_tensor_name/type/offset/size,
  gguf_get_tensor_ne (added in llama.cpp b9987; the prebuilt ships it),
  ggml_get_type_traits(type)->to_float, and ggml_quantize_chunk.

The library is found through $REFCMP_GGML_LIB (a path to libggml-base.so)
or under the install prefix $REFCMP_GGML_PREFIX (default /opt/refcmp-llama).

Command line (JSON on stdout, exit 1 with {"error": ...} when ggml refuses):

  ggml_oracle.py lib                          print the library path found
  ggml_oracle.py facts FILE                   header facts as gguf.cpp reads them
  ggml_oracle.py traits                       name/block size/type size per type
  ggml_oracle.py dequant TYPE IN OUT          raw blocks in IN -> float32 LE in OUT
  ggml_oracle.py quant TYPE NPERROW IN OUT    float32 LE rows in IN -> blocks in OUT
  ggml_oracle.py qd TYPE NPERROW IN QOUT DOUT quant, then dequant of the result

TYPE is a ggml type number or name (q4_K, Q8_0, f16, ...). As a module,
Ggml(path).facts(file), .dequantize(type, bytes, n), .quantize(type, array)
do the same for other scripts (hf_to_gguf_mini.py, make_qerror.py).
"""

import ctypes
import json
import os
import sys

DEFAULT_PREFIX = "/opt/refcmp-llama"
LIB_SUBPATH = "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so"

GGML_MAX_DIMS = 4


class OracleError(Exception):
    pass


def find_lib():
    """Return the path of libggml-base.so, or None."""
    p = os.environ.get("REFCMP_GGML_LIB")
    if p:
        return p if os.path.isfile(p) else None
    prefix = os.environ.get("REFCMP_GGML_PREFIX", DEFAULT_PREFIX)
    p = os.path.join(prefix, LIB_SUBPATH)
    return p if os.path.isfile(p) else None


class _InitParams(ctypes.Structure):
    # struct gguf_init_params { bool no_alloc; struct ggml_context ** ctx; };
    _fields_ = [("no_alloc", ctypes.c_bool), ("ctx", ctypes.c_void_p)]


_to_float_t = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


class _TypeTraits(ctypes.Structure):
    # struct ggml_type_traits (ggml.h): type_name, blck_size,
    # blck_size_interleave, type_size, is_quantized, to_float, from_float_ref.
    _fields_ = [
        ("type_name", ctypes.c_char_p),
        ("blck_size", ctypes.c_int64),
        ("blck_size_interleave", ctypes.c_int64),
        ("type_size", ctypes.c_size_t),
        ("is_quantized", ctypes.c_bool),
        ("to_float", ctypes.c_void_p),
        ("from_float_ref", ctypes.c_void_p),
    ]


# GGML_TYPE_COUNT of the pinned build (node-llama-cpp 3.22.1; the last type is
# q2_0 = 42). ggml_get_type_traits does not check its argument, so nothing
# past it may be asked for. _check_abi verifies the last entry.
GGML_TYPE_COUNT = 43


class Ggml:
    def __init__(self, path=None):
        path = path or find_lib()
        if not path:
            raise OracleError("libggml-base.so not found: set REFCMP_GGML_LIB or install "
                              "@node-llama-cpp/linux-x64 under " + DEFAULT_PREFIX)
        self.path = path
        L = ctypes.CDLL(path)
        self.L = L
        vp, i64, sz = ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t
        L.gguf_init_from_file.restype = vp
        L.gguf_init_from_file.argtypes = [ctypes.c_char_p, _InitParams]
        L.gguf_free.argtypes = [vp]
        L.gguf_get_version.restype = ctypes.c_uint32
        L.gguf_get_version.argtypes = [vp]
        L.gguf_get_alignment.restype = sz
        L.gguf_get_alignment.argtypes = [vp]
        L.gguf_get_data_offset.restype = sz
        L.gguf_get_data_offset.argtypes = [vp]
        L.gguf_get_n_kv.restype = i64
        L.gguf_get_n_kv.argtypes = [vp]
        L.gguf_get_key.restype = ctypes.c_char_p
        L.gguf_get_key.argtypes = [vp, i64]
        L.gguf_get_kv_type.restype = ctypes.c_int
        L.gguf_get_kv_type.argtypes = [vp, i64]
        L.gguf_get_n_tensors.restype = i64
        L.gguf_get_n_tensors.argtypes = [vp]
        L.gguf_get_tensor_name.restype = ctypes.c_char_p
        L.gguf_get_tensor_name.argtypes = [vp, i64]
        L.gguf_get_tensor_type.restype = ctypes.c_int
        L.gguf_get_tensor_type.argtypes = [vp, i64]
        L.gguf_get_tensor_offset.restype = sz
        L.gguf_get_tensor_offset.argtypes = [vp, i64]
        L.gguf_get_tensor_size.restype = sz
        L.gguf_get_tensor_size.argtypes = [vp, i64]
        L.gguf_get_tensor_ne.restype = ctypes.POINTER(ctypes.c_int64)
        L.gguf_get_tensor_ne.argtypes = [vp, i64]
        L.ggml_get_type_traits.restype = ctypes.POINTER(_TypeTraits)
        L.ggml_get_type_traits.argtypes = [ctypes.c_int]
        L.ggml_quantize_chunk.restype = sz
        L.ggml_quantize_chunk.argtypes = [ctypes.c_int, vp, vp, i64, i64, i64, vp]
        L.ggml_quantize_requires_imatrix.restype = ctypes.c_bool
        L.ggml_quantize_requires_imatrix.argtypes = [ctypes.c_int]
        self._check_abi()

    def _check_abi(self):
        # The struct layout above must match the library: Q4_K is 256
        # elements in 144 bytes, Q8_0 32 in 34.
        for t, name, bs, ts in ((12, b"q4_K", 256, 144), (8, b"q8_0", 32, 34)):
            tr = self.L.ggml_get_type_traits(t).contents
            if (tr.type_name, tr.blck_size, tr.type_size) != (name, bs, ts):
                raise OracleError("ggml_type_traits layout mismatch in %s" % self.path)
        if self.L.ggml_get_type_traits(GGML_TYPE_COUNT - 1).contents.type_name != b"q2_0":
            raise OracleError("%s is not the pinned build (GGML_TYPE_COUNT != %d)" % (self.path, GGML_TYPE_COUNT))

    # --- types -------------------------------------------------------------

    def traits(self, t):
        if not 0 <= int(t) < GGML_TYPE_COUNT:
            raise OracleError("ggml type %d out of range" % int(t))
        tr = self.L.ggml_get_type_traits(int(t)).contents
        return {"type": int(t), "name": (tr.type_name or b"").decode(),
                "block_size": tr.blck_size, "type_size": tr.type_size,
                "is_quantized": bool(tr.is_quantized), "has_to_float": bool(tr.to_float)}

    def all_traits(self):
        # Removed type numbers have blck_size 0 and are skipped.
        return [self.traits(t) for t in range(GGML_TYPE_COUNT)
                if self.L.ggml_get_type_traits(t).contents.blck_size]

    def type_number(self, s):
        try:
            return int(s)
        except ValueError:
            pass
        for t in range(GGML_TYPE_COUNT):
            tr = self.L.ggml_get_type_traits(t).contents
            if tr.blck_size and tr.type_name and tr.type_name.decode().lower() == s.lower():
                return t
        raise OracleError("unknown ggml type %r" % s)

    # --- gguf --------------------------------------------------------------

    def facts(self, fname):
        ctx = self.L.gguf_init_from_file(os.fsencode(fname), _InitParams(True, None))
        if not ctx:
            raise OracleError("gguf_init_from_file failed: %s" % fname)
        try:
            L = self.L
            keys = []
            for i in range(L.gguf_get_n_kv(ctx)):
                keys.append({"key_hex": L.gguf_get_key(ctx, i).hex(), "type": L.gguf_get_kv_type(ctx, i)})
            tensors = []
            for i in range(L.gguf_get_n_tensors(ctx)):
                ne = L.gguf_get_tensor_ne(ctx, i)
                name = L.gguf_get_tensor_name(ctx, i)
                tensors.append({
                    "name": name.decode("utf-8", "replace"),
                    "name_hex": name.hex(),
                    "type": L.gguf_get_tensor_type(ctx, i),
                    "offset": L.gguf_get_tensor_offset(ctx, i),
                    "size": L.gguf_get_tensor_size(ctx, i),
                    "ne": [ne[d] for d in range(GGML_MAX_DIMS)],
                })
            return {"version": L.gguf_get_version(ctx), "alignment": L.gguf_get_alignment(ctx),
                    "data_offset": L.gguf_get_data_offset(ctx), "kv": keys, "tensors": tensors}
        finally:
            self.L.gguf_free(ctx)

    # --- values ------------------------------------------------------------

    def dequantize(self, t, raw, n):
        """Decode n elements of type t from bytes raw with ggml's to_float."""
        tr = self.L.ggml_get_type_traits(int(t)).contents
        if not tr.to_float:
            raise OracleError("type %d has no to_float" % t)
        if n % tr.blck_size or len(raw) < n // tr.blck_size * tr.type_size:
            raise OracleError("bad size: %d elements, %d bytes" % (n, len(raw)))
        src = ctypes.create_string_buffer(bytes(raw), len(raw))
        dst = (ctypes.c_float * n)()
        _to_float_t(tr.to_float)(ctypes.addressof(src), ctypes.addressof(dst), n)
        return bytes(dst)

    def quantize(self, t, data, n_per_row):
        """Quantize float32 bytes (rows of n_per_row) with ggml_quantize_chunk."""
        import array
        a = array.array("f")
        a.frombytes(bytes(data))
        n = len(a)
        if n_per_row <= 0 or n % n_per_row:
            raise OracleError("%d elements are not rows of %d" % (n, n_per_row))
        tr = self.L.ggml_get_type_traits(int(t)).contents
        if tr.blck_size == 0 or n_per_row % tr.blck_size:
            raise OracleError("row of %d is not whole blocks of type %d" % (n_per_row, t))
        if self.L.ggml_quantize_requires_imatrix(int(t)):
            raise OracleError("type %d needs an importance matrix" % t)
        nrows = n // n_per_row
        out = ctypes.create_string_buffer(nrows * (n_per_row // tr.blck_size) * tr.type_size)
        src = (ctypes.c_float * n).from_buffer(a)
        written = self.L.ggml_quantize_chunk(int(t), ctypes.addressof(src), ctypes.addressof(out),
                                             0, nrows, n_per_row, None)
        return out.raw[:written]


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[0] == "lib":
            p = find_lib()
            if not p:
                raise OracleError("libggml-base.so not found")
            print(p)
            return 0
        g = Ggml()
        cmd = argv[0]
        if cmd == "facts" and len(argv) == 2:
            json.dump(g.facts(argv[1]), sys.stdout)
        elif cmd == "traits" and len(argv) == 1:
            json.dump(g.all_traits(), sys.stdout)
        elif cmd == "dequant" and len(argv) == 4:
            t = g.type_number(argv[1])
            raw = open(argv[2], "rb").read()
            tr = g.traits(t)
            n = len(raw) // tr["type_size"] * tr["block_size"]
            open(argv[3], "wb").write(g.dequantize(t, raw, n))
        elif cmd == "quant" and len(argv) == 5:
            t = g.type_number(argv[1])
            out = g.quantize(t, open(argv[3], "rb").read(), int(argv[2]))
            open(argv[4], "wb").write(out)
        elif cmd == "qd" and len(argv) == 6:
            t = g.type_number(argv[1])
            data = open(argv[3], "rb").read()
            q = g.quantize(t, data, int(argv[2]))
            open(argv[4], "wb").write(q)
            open(argv[5], "wb").write(g.dequantize(t, q, len(data) // 4))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (OracleError, OSError) as e:
        json.dump({"error": str(e)}, sys.stdout)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
