#!/usr/bin/env python3
"""Self-tests for refcmp's reference-side scripts.

Run with Debian's interpreter (it has numpy and torch):

    /usr/bin/python3 scripts/test_scripts.py        # or: -m unittest -v scripts/test_scripts.py
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zipfile
from collections import OrderedDict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXAMPLE = os.path.join(ROOT, "testdata", "porting")
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import refcmp_io  # noqa: E402
from dump_activations import dump_activations, record_activations  # noqa: E402
from dump_weights import write_manifest  # noqa: E402
import make_example  # noqa: E402

PY = sys.executable


def run(*args, check=True):
    p = subprocess.run([PY] + list(args), cwd=ROOT, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (args, p.returncode, p.stdout, p.stderr))
    return p


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def write(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def script(name):
    return os.path.join(HERE, name)


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="refcmp_scripts_")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def path(self, name):
        return os.path.join(self.tmp, name)


class TestHelp(unittest.TestCase):
    def test_help(self):
        for name in ("dump_weights.py", "dump_activations.py", "make_example.py"):
            p = run(script(name), "--help")
            self.assertIn("usage: %s" % name, p.stdout)
            self.assertIn("example", p.stdout)


class TestSafetensorsWriter(Tmp):
    def tensors(self):
        g = torch.Generator().manual_seed(1)
        return OrderedDict([
            ("f32", torch.randn(3, 4, generator=g)),
            ("f64", torch.randn(2, 3, generator=g, dtype=torch.float64)),
            ("f16", torch.randn(5, generator=g).half()),
            ("bf16", torch.randn(2, 2, generator=g).bfloat16()),
            ("i64", torch.arange(-3, 3)),
            ("i32", torch.arange(4, dtype=torch.int32).reshape(2, 2)),
            ("i16", torch.tensor([-2, 7], dtype=torch.int16)),
            ("i8", torch.tensor([-128, 127], dtype=torch.int8)),
            ("u8", torch.tensor([0, 255], dtype=torch.uint8)),
            ("bool", torch.tensor([True, False, True])),
            ("scalar", torch.tensor(2.5)),
            ("empty", torch.zeros(0, 3)),
            ("noncontig", torch.arange(6.0).reshape(2, 3).t()),
            ("np_be", np.arange(3, dtype=">f4")),
        ])

    def test_layout_by_hand(self):
        """Parse the file with struct/json only and check every byte."""
        ts = self.tensors()
        p = self.path("t.safetensors")
        refcmp_io.write_safetensors(p, ts, metadata={"k": "v"})
        raw = read(p)
        (n,) = struct.unpack("<Q", raw[:8])
        self.assertEqual((8 + n) % 8, 0)
        header = json.loads(raw[8:8 + n].decode(), object_pairs_hook=OrderedDict)
        self.assertEqual(list(header)[0], "__metadata__")
        self.assertEqual(header.pop("__metadata__"), {"k": "v"})
        self.assertEqual(list(header), list(ts))
        data = raw[8 + n:]
        pos = 0
        for name, t in ts.items():
            e = header[name]
            self.assertEqual(e["data_offsets"][0], pos, name)
            got = data[e["data_offsets"][0]:e["data_offsets"][1]]
            pos = e["data_offsets"][1]
            if isinstance(t, np.ndarray):
                want = t.astype("<f4").tobytes()
            elif t.dtype == torch.bfloat16:
                want = t.view(torch.int16).numpy().astype("<i2").tobytes()
            else:
                want = np.ascontiguousarray(t.numpy()).tobytes()
            self.assertEqual(got, want, name)
            self.assertEqual(e["shape"], list(t.shape), name)
        self.assertEqual(pos, len(data))
        self.assertEqual(header["bf16"]["dtype"], "BF16")
        self.assertEqual(header["scalar"]["shape"], [])
        self.assertEqual(header["np_be"]["dtype"], "F32")

    def test_roundtrip(self):
        ts = self.tensors()
        p = self.path("t.safetensors")
        refcmp_io.write_safetensors(p, ts, metadata={"refcmp.order": json.dumps(["i8", "f32"])})
        back, meta = refcmp_io.read_safetensors(p)
        self.assertEqual(list(back)[:2], ["i8", "f32"])
        for name, t in ts.items():
            t = torch.from_numpy(t.astype("<f4")) if isinstance(t, np.ndarray) else t
            self.assertEqual(back[name].dtype, t.dtype, name)
            self.assertTrue(torch.equal(back[name], t), name)
        nb, _ = refcmp_io.read_safetensors(p, backend="numpy", bf16="float32")
        self.assertTrue(np.array_equal(nb["bf16"], ts["bf16"].float().numpy()))

    def test_deterministic(self):
        a, b = self.path("a.safetensors"), self.path("b.safetensors")
        refcmp_io.write_safetensors(a, self.tensors(), {"x": "1"})
        refcmp_io.write_safetensors(b, self.tensors(), {"x": "1"})
        self.assertEqual(read(a), read(b))

    def test_package_cross_check(self):
        try:
            from safetensors.torch import load_file, save_file
        except Exception:
            self.skipTest("the safetensors package is not installed")
        ts = OrderedDict((k, v) for k, v in self.tensors().items() if not isinstance(v, np.ndarray))
        p = self.path("mine.safetensors")
        refcmp_io.write_safetensors(p, ts)
        back = load_file(p)
        for k, v in ts.items():
            self.assertTrue(torch.equal(back[k], v), k)
        q = self.path("theirs.safetensors")
        save_file({k: v.contiguous() for k, v in ts.items()}, q, metadata={"a": "b"})
        mine, meta = refcmp_io.read_safetensors(q)
        self.assertEqual(meta, {"a": "b"})
        for k, v in ts.items():
            self.assertTrue(torch.equal(mine[k], v), k)

    def test_malformed(self):
        p = self.path("m.safetensors")
        refcmp_io.write_safetensors(p, {"x": torch.zeros(4)})
        raw = read(p)
        cases = {
            "short": raw[:5],
            "truncated": raw[:-4],
            "hugeheader": struct.pack("<Q", 1 << 40) + raw[8:],
            "badjson": raw[:8] + b"[" + raw[9:],
        }
        for name, b in cases.items():
            q = self.path(name + ".safetensors")
            write(q, b)
            with self.assertRaises(refcmp_io.FormatError, msg=name) as cm:
                refcmp_io.read_safetensors_header(q)
            self.assertIn(q, str(cm.exception))


class TestDumpWeights(Tmp):
    def test_example_manifest(self):
        want = read(os.path.join(EXAMPLE, "expected_weights.txt"), "r")
        for src in (os.path.join(EXAMPLE, "model.safetensors"), "scripts/make_example.py:build_reference"):
            self.assertEqual(run(script("dump_weights.py"), src).stdout, want, src)

    def test_output_positional(self):
        src = os.path.join(EXAMPLE, "model.safetensors")
        want = read(os.path.join(EXAMPLE, "expected_weights.txt"), "r")
        run(script("dump_weights.py"), src, self.path("a.txt"))
        run(script("dump_weights.py"), src, "-o", self.path("b.txt"))
        self.assertEqual(read(self.path("a.txt"), "r"), want)
        self.assertEqual(read(self.path("b.txt"), "r"), want)
        run(script("dump_weights.py"), src, self.path("d.json"))
        self.assertEqual(len(json.loads(read(self.path("d.json"), "r"))), 11)
        r = run(script("dump_weights.py"), src, self.path("a.txt"), "-o", self.path("c.txt"), check=False)
        self.assertEqual(r.returncode, 2)

    def test_safetensors_without_numpy_or_torch(self):
        code = ("import sys, runpy; sys.modules['numpy'] = None; sys.modules['torch'] = None; "
                "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")
        src = os.path.join(EXAMPLE, "model.safetensors")
        for extra in ([], ["--json"]):
            r = run("-c", code, script("dump_weights.py"), src, *extra)
            self.assertEqual(r.stdout, run(script("dump_weights.py"), src, *extra).stdout)
        self.assertEqual(r.stdout.count("F32"), 11)

    def test_json(self):
        out = run(script("dump_weights.py"), "--json", os.path.join(EXAMPLE, "model.safetensors")).stdout
        obj = json.loads(out, object_pairs_hook=OrderedDict)
        self.assertEqual(obj["layers.0.mlp.up_proj.weight"], {"shape": [64, 32], "dtype": "F32"})
        self.assertEqual(len(obj), 11)

    def test_library(self):
        m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        p = self.path("m.txt")
        self.assertEqual(write_manifest(m, p), 7)  # 2 + 5 incl. buffers
        lines = read(p, "r").splitlines()
        self.assertEqual(lines[0], "0.weight [4, 3] float32")
        self.assertIn("1.num_batches_tracked [] int64", lines)
        self.assertEqual(write_manifest(m, self.path("p.json"), params_only=True), 4)
        self.assertEqual(json.loads(read(self.path("p.json"), "r"))["1.bias"], {"shape": [4], "dtype": "F32"})
        sd = OrderedDict([("a", torch.zeros(2, dtype=torch.bfloat16)), ("b", np.zeros((1, 2), "f2"))])
        write_manifest(sd, self.path("sd.txt"))
        self.assertEqual(read(self.path("sd.txt"), "r"), "a [2] bfloat16\nb [1, 2] float16\n")

    def test_pt_nested_and_unsafe(self):
        sd = make_example.reference_state_dict()
        p = self.path("ckpt.pt")
        torch.save({"state_dict": sd, "epoch": 3}, p)
        r = run(script("dump_weights.py"), p)
        self.assertEqual(r.stdout, read(os.path.join(EXAMPLE, "expected_weights.txt"), "r"))
        self.assertIn("using checkpoint['state_dict']", r.stderr)
        # a pickled module needs --unsafe
        q = self.path("module.pt")
        torch.save(nn.Linear(2, 3), q)
        r = run(script("dump_weights.py"), q, check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--unsafe", r.stderr)
        r = run(script("dump_weights.py"), "--unsafe", q)
        self.assertEqual(r.stdout, "weight [3, 2] float32\nbias [3] float32\n")

    def test_sharded_index_and_dir(self):
        sd = make_example.reference_state_dict()
        names = list(sd)
        d = self.path("ckpt")
        os.mkdir(d)
        refcmp_io.write_safetensors(os.path.join(d, "model-00001-of-00002.safetensors"),
                                    [(n, sd[n]) for n in names[:5]])
        refcmp_io.write_safetensors(os.path.join(d, "model-00002-of-00002.safetensors"),
                                    [(n, sd[n]) for n in names[5:]])
        wm = OrderedDict((n, "model-0000%d-of-00002.safetensors" % (1 if i < 5 else 2)) for i, n in enumerate(names))
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": wm}, f)
        want = read(os.path.join(EXAMPLE, "expected_weights.txt"), "r")
        self.assertEqual(run(script("dump_weights.py"), os.path.join(d, "model.safetensors.index.json")).stdout, want)
        self.assertEqual(run(script("dump_weights.py"), d).stdout, want)
        os.remove(os.path.join(d, "model-00002-of-00002.safetensors"))
        r = run(script("dump_weights.py"), d, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("model-00002-of-00002.safetensors", r.stderr)

    def test_errors(self):
        r = run(script("dump_weights.py"), self.path("nope.pt"), check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("nope.pt", r.stderr)
        bad = self.path("bad.safetensors")
        write(bad, b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
        r = run(script("dump_weights.py"), bad, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("bad.safetensors", r.stderr)


class Shared(nn.Module):
    """A module called twice, one returning a tuple with a None, one a dict."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.split = Split()
        self.head = DictOut()

    def forward(self, x):
        a, b, _ = self.split(self.lin(self.lin(x)))
        return self.head(a + b)


class Split(nn.Module):
    def forward(self, x):
        return x * 2, x + 1, None


class DictOut(nn.Module):
    def forward(self, x):
        return {"logits": x, "aux": 3}


class TestDumpActivations(Tmp):
    def test_names_and_order(self):
        torch.manual_seed(0)
        m = Shared()
        acts = record_activations(m, torch.ones(1, 2))
        self.assertEqual(list(acts), ["lin", "lin#1", "split.0", "split.1", "head.logits"])
        self.assertTrue(torch.equal(acts["split.0"], acts["lin#1"] * 2))
        acts = record_activations(m, torch.ones(1, 2), filter=r"^(lin|head)$", root_name="model")
        self.assertEqual(list(acts), ["lin", "lin#1", "head.logits"])
        acts = record_activations(m, torch.ones(1, 2), root_name="model", exclude="lin")
        self.assertEqual(list(acts), ["split.0", "split.1", "head.logits", "model.logits"])
        self.assertEqual(len(m._forward_hooks) + len(m.lin._forward_hooks), 0)  # hooks removed

    def test_library_safetensors_and_npz(self):
        m = make_example.build_reference()
        ids = make_example.example_inputs()
        p = self.path("a.safetensors")
        names = dump_activations(m, ids, p, use_package=False)
        self.assertEqual(read(p), read(os.path.join(EXAMPLE, "ref_activations.safetensors")))
        _, meta, _ = refcmp_io.read_safetensors_header(p)
        self.assertEqual(json.loads(meta["refcmp.order"]), names)
        q = self.path("a.npz")
        self.assertEqual(dump_activations(m, ids, q, filter=r"self_attn\."), [n for n in names if "self_attn." in n])
        with zipfile.ZipFile(q) as z:
            self.assertEqual([i.filename[:-4] for i in z.infolist()], [n for n in names if "self_attn." in n])

    def test_cli_reproduces_example(self):
        ref = os.path.join(EXAMPLE, "ref_activations.safetensors")
        out = self.path("ref.safetensors")
        run(script("dump_activations.py"), "scripts/make_example.py:build_reference",
            "--weights", os.path.join(EXAMPLE, "model.safetensors"),
            "--input", os.path.join(EXAMPLE, "input_ids.npy"), "-o", out)
        want, wmeta = refcmp_io.read_safetensors(ref)
        got, gmeta = refcmp_io.read_safetensors(out)
        self.assertEqual(wmeta, gmeta)
        self.assertEqual(list(want), list(got))
        for k in want:
            torch.testing.assert_close(got[k], want[k], rtol=1e-5, atol=1e-6)

    def test_cli_bf16_and_errors(self):
        out = self.path("bf.safetensors")
        run(script("dump_activations.py"), "scripts/make_example.py:build_port", "--dtype", "bfloat16",
            "--filter", "q_proj|lm_head", "-o", out)
        entries, meta, _ = refcmp_io.read_safetensors_header(out)
        self.assertEqual(list(entries), ["layers.0.self_attn.q_proj", "lm_head"])
        self.assertEqual({e["dtype"] for e in entries.values()}, {"BF16"})
        r = run(script("dump_activations.py"), "scripts/make_example.py:build_port",
                "--filter", "nothing-matches", "-o", self.path("x.safetensors"), check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no module output matched", r.stderr)
        r = run(script("dump_activations.py"), "scripts/make_example.py:build_port", "-o", self.path("x.bin"),
                check=False)
        self.assertEqual(r.returncode, 2)


class TestExample(Tmp):
    def test_deterministic_and_up_to_date(self):
        a, b = self.path("a"), self.path("b")
        run(script("make_example.py"), "-o", a)
        run(script("make_example.py"), "-o", b)
        for f in make_example.FILES:
            self.assertEqual(read(os.path.join(a, f)), read(os.path.join(b, f)), f)
        total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(EXAMPLE) for f in fs)
        self.assertLess(total, 200 * 1024)
        self.assertEqual(make_example.check(EXAMPLE), [])

    def first_failure(self, ours_file, ref_file="ref_activations.safetensors"):
        ref, _ = refcmp_io.read_safetensors(os.path.join(EXAMPLE, ref_file))
        ours, _ = refcmp_io.read_safetensors(os.path.join(EXAMPLE, ours_file))
        self.assertEqual(list(ref), list(ours))
        fails = [k for k in ref if not torch.allclose(ours[k], ref[k], rtol=1.3e-6, atol=1e-5)]
        return ref, ours, fails

    def test_port_missing_scale(self):
        ref, ours, fails = self.first_failure("port_activations.safetensors")
        names = list(ref)
        self.assertEqual(fails[0], "layers.0.self_attn.scores")
        i = names.index(fails[0])
        self.assertEqual(i, 5)
        self.assertEqual(fails, names[i:])  # everything after fails too
        for k in names[:i]:
            self.assertTrue(torch.equal(ref[k], ours[k]), k)
        r, o = ref[fails[0]].double(), ours[fails[0]].double()
        k = float((r * o).sum() / (r * r).sum())
        self.assertAlmostEqual(k, 8 ** 0.5, places=5)
        self.assertLess(float((o - k * r).abs().max()), 1e-5)

    def test_port_transposed(self):
        ref, ours, fails = self.first_failure("port_transposed_activations.safetensors")
        names = list(ref)
        self.assertEqual(fails[0], "layers.0.self_attn.o_proj")
        self.assertEqual(names.index(fails[0]), 8)
        self.assertEqual(fails, names[8:])
        w, _ = refcmp_io.read_safetensors(os.path.join(EXAMPLE, "model.safetensors"))
        pw, _ = refcmp_io.read_safetensors(os.path.join(EXAMPLE, "port_transposed_weights.safetensors"))
        self.assertEqual(list(w), list(pw))
        diff = [k for k in w if not torch.equal(w[k], pw[k])]
        self.assertEqual(diff, ["layers.0.self_attn.o_proj.weight"])
        self.assertTrue(torch.equal(pw[diff[0]], w[diff[0]].t()))

    def test_findings_file(self):
        f = json.loads(read(os.path.join(EXAMPLE, "expected_findings.json"), "r"))
        by = {tuple(c["args"]): c for c in f["tensors"]}
        c = by[("ref_activations.safetensors", "port_activations.safetensors")]
        self.assertEqual((c["exit"], c["first_failure"], c["passing_before"]), (1, "layers.0.self_attn.scores", 5))
        self.assertEqual(c["hint"]["kind"], "scaled")
        self.assertAlmostEqual(c["hint"]["k"], 8 ** 0.5, places=5)
        c = by[("ref_activations.safetensors", "port_transposed_activations.safetensors")]
        self.assertEqual((c["exit"], c["first_failure"], c["passing_before"]), (1, "layers.0.self_attn.o_proj", 8))
        c = by[("model.safetensors", "port_transposed_weights.safetensors")]
        self.assertEqual(c["failing_names"], ["layers.0.self_attn.o_proj.weight"])
        self.assertEqual(by[("ref_activations.safetensors", "ref_activations.safetensors")]["exit"], 0)
        for c in f["weights"] + f["tensors"]:
            for a in c["args"]:
                self.assertTrue(a.startswith("--") or a.startswith("^") or os.path.exists(os.path.join(EXAMPLE, a)), a)

    def test_port_loaded_listing(self):
        want = read(os.path.join(EXAMPLE, "expected_weights.txt"), "r").splitlines()
        got = [l for l in read(os.path.join(EXAMPLE, "port_loaded.txt"), "r").splitlines()
               if l and not l.startswith("#")]
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            name, shape, dtype = w.split(" ", 1)[0], w.split(" ", 1)[1].rsplit(" ", 1)[0], w.rsplit(" ", 1)[1]
            self.assertEqual(g, "model.%s torch.Size(%s) torch.%s" % (name, shape, dtype))


class TestPortSide(Tmp):
    """The Go, Rust and C++ programs in testdata/porting/port_side write
    the port's side; what they write must read back as intended."""

    SRC = os.path.join(EXAMPLE, "port_side")
    BUILDS = {
        "go": (["go", "build", "-o", "{exe}", "{src}/port_side.go"], "go"),
        "rust": (["rustc", "--edition", "2021", "-o", "{exe}", "{src}/port_side.rs"], "rustc"),
        "c++": (["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-o", "{exe}", "{src}/port_side.cpp"], "g++"),
    }

    def check_output(self, d):
        data = (np.arange(6, dtype="<f4") / 4).reshape(2, 3)
        self.assertEqual(read(os.path.join(d, "loaded.txt"), "r"),
                         "model.embed_tokens.weight [64, 32] float32\nmodel.lm_head.weight [64, 32] float32\n")
        side = json.loads(read(os.path.join(d, "x.bin.json"), "r"))
        self.assertEqual(side, {"dtype": "F32", "shape": [2, 3]})
        self.assertEqual(read(os.path.join(d, "x.bin")), data.tobytes())
        want = self.path("want.npy")
        np.save(want, data)
        self.assertEqual(read(os.path.join(d, "x.npy")), read(want))

    def test_programs(self):
        for lang, (cmd, tool) in self.BUILDS.items():
            with self.subTest(lang=lang):
                if shutil.which(tool) is None:
                    self.skipTest("%s not installed" % tool)
                exe = self.path("port_side_" + lang.replace("+", "p"))
                out = self.path("out_" + lang.replace("+", "p"))
                os.mkdir(out)
                cmd = [c.format(exe=exe, src=self.SRC) for c in cmd]
                p = subprocess.run(cmd, capture_output=True, text=True, cwd=self.tmp)
                self.assertEqual(p.returncode, 0, p.stderr)
                p = subprocess.run([exe, out], capture_output=True, text=True)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.check_output(out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
