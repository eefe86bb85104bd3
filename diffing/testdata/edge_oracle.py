"""Oracle for TestEdgeNumbersPeers (compare_peer_test.go).

Reads cases from the directory given as argv[1]: cases.json lists classes,
each with a background pair (bg_ref.bin, bg_ours.bin: little-endian float64
or int64/uint64) and one special pair put at every position p in turn.
For each class and position it prints "class p key value" lines:

  mis, first, worst      numpy.isclose (checked against torch.isclose) on
                         float64, or exact Python integers;
  max_abs, max_rel       numpy in float64 (elementwise exact operations);
  mean_r, std_r, mean_o, std_o, mean_abs, rmse, nmse, cosine
                         exact rational arithmetic (fractions), rounded once:
                         numpy's own sums overflow or underflow here.
"""
import json
import os
import sys
from decimal import Decimal, getcontext
from fractions import Fraction as F

import numpy as np
import torch

getcontext().prec = 50


def tofloat(q):
    try:
        return float(q)
    except OverflowError:
        return float("inf") if q > 0 else float("-inf")


def dsqrt(q):
    if q <= 0:
        return 0.0
    d = (Decimal(q.numerator) / Decimal(q.denominator)).sqrt()
    return float(d) if d < Decimal("1.8e308") else float("inf")


def out(cls, p, key, v):
    print(cls, p, key, repr(float(v)) if not isinstance(v, int) else v)


def float_class(c, d):
    ref = np.fromfile(os.path.join(d, c["name"] + "_ref.bin"), dtype="<f8")
    ours = np.fromfile(os.path.join(d, c["name"] + "_ours.bin"), dtype="<f8")
    sr, so = float(c["special_ref"]), float(c["special_ours"])
    n = len(ref)
    atol, rtol = c["atol"], c["rtol"]
    with np.errstate(all="ignore"):
        bgmis = ~np.isclose(ours, ref, rtol=rtol, atol=atol)
        tbg = ~torch.isclose(torch.from_numpy(ours), torch.from_numpy(ref), rtol=rtol, atol=atol).numpy()
        if not (bgmis == tbg).all():
            sys.exit("numpy and torch disagree on the background of " + c["name"])
        smis = bool(~np.isclose(np.float64(so), np.float64(sr), rtol=rtol, atol=atol))
        tmis = bool(~torch.isclose(torch.tensor([so], dtype=torch.float64), torch.tensor([sr], dtype=torch.float64), rtol=rtol, atol=atol)[0])
        if smis != tmis:
            sys.exit("numpy and torch disagree on the special pair of " + c["name"])
        bgad = np.abs(ours - ref)
        sad = abs(np.float64(so) - np.float64(sr))
        bgrel = np.where(ref == 0, np.where(bgad == 0, 0.0, np.inf), bgad / np.abs(ref))
        srel = 0.0 if sr == 0 and sad == 0 else (np.inf if sr == 0 else sad / abs(sr))
    fr = [F(x) for x in ref]
    fo = [F(x) for x in ours]
    fd = [b - a for a, b in zip(fr, fo)]
    Sr, Qr = sum(fr), sum(x * x for x in fr)
    So, Qo = sum(fo), sum(x * x for x in fo)
    Dot = sum(a * b for a, b in zip(fr, fo))
    Sa, Sd = sum(abs(x) for x in fd), sum(x * x for x in fd)
    fsr, fso = F(sr), F(so)
    fsd = fso - fsr
    for p in range(n):
        mis = bgmis.copy()
        mis[p] = smis
        idx = np.flatnonzero(mis)
        out(c["name"], p, "mis", int(len(idx)))
        out(c["name"], p, "first", int(idx[0]) if len(idx) else -1)
        ad = bgad.copy()
        ad[p] = sad
        rel = bgrel.copy()
        rel[p] = srel
        out(c["name"], p, "max_abs", ad.max())
        out(c["name"], p, "worst", int(np.argmax(ad)) if ad.max() > 0 else -1)
        out(c["name"], p, "max_rel", rel.max())
        r, o, dd = fr[p], fo[p], fd[p]
        sr_, qr = Sr - r + fsr, Qr - r * r + fsr * fsr
        so_, qo = So - o + fso, Qo - o * o + fso * fso
        dot = Dot - r * o + fsr * fso
        sa, sd = Sa - abs(dd) + abs(fsd), Sd - dd * dd + fsd * fsd
        varr = qr / n - (sr_ / n) ** 2
        varo = qo / n - (so_ / n) ** 2
        out(c["name"], p, "mean_r", tofloat(sr_ / n))
        out(c["name"], p, "std_r", dsqrt(varr))
        out(c["name"], p, "mean_o", tofloat(so_ / n))
        out(c["name"], p, "std_o", dsqrt(varo))
        out(c["name"], p, "mean_abs", tofloat(sa / n))
        out(c["name"], p, "rmse", dsqrt(sd / n))
        if sd == 0:
            nmse = 0.0
        elif varr == 0:
            nmse = float("inf")
        else:
            nmse = tofloat((sd / n) / varr)
        out(c["name"], p, "nmse", nmse)
        if qr == 0 and qo == 0:
            cos = 1.0
        elif qr == 0 or qo == 0:
            cos = 0.0
        else:
            cos = dsqrt(dot * dot / (qr * qo))
            cos = cos if dot >= 0 else -cos
        out(c["name"], p, "cosine", cos)


def int_class(c, d):
    dt = {"I64": "<i8", "U64": "<u8"}[c["dtype"]]
    ref = [int(x) for x in np.fromfile(os.path.join(d, c["name"] + "_ref.bin"), dtype=dt)]
    ours = [int(x) for x in np.fromfile(os.path.join(d, c["name"] + "_ours.bin"), dtype=dt)]
    sr, so = int(c["special_ref"]), int(c["special_ours"])
    atol = F(c["atol"])
    n = len(ref)
    for p in range(n):
        r, o = list(ref), list(ours)
        r[p], o[p] = sr, so
        ad = [abs(b - a) for a, b in zip(r, o)]
        # allowance atol + rtol*|ref| with rtol 0 (exact integers).
        mis = [i for i, x in enumerate(ad) if x > atol]
        m = max(ad)
        out(c["name"], p, "mis", len(mis))
        out(c["name"], p, "first", mis[0] if mis else -1)
        out(c["name"], p, "max_abs", tofloat(F(m)))
        out(c["name"], p, "worst", ad.index(m) if m > 0 else -1)
        out(c["name"], p, "mean_abs", tofloat(F(sum(ad), n)))
        out(c["name"], p, "rmse", dsqrt(F(sum(x * x for x in ad), n)))


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "cases.json")) as f:
        classes = json.load(f)
    for c in classes:
        if c["dtype"] == "F64":
            float_class(c, d)
        else:
            int_class(c, d)


main()
