#!/usr/bin/env bash
# bench_vs_numpy.sh: time `refcmp tensors` against the numpy report
# (scripts/numpy_report.py) and a plain read pass on the same two files.
#
# Usage: scripts/bench_vs_numpy.sh            (two 1 GiB F32 .npy files)
#        SIZE_MIB=256 scripts/bench_vs_numpy.sh
# Env:   SIZE_MIB   size of each file in MiB (default 1024)
#        PYTHON     interpreter with numpy (default /usr/bin/python3)
#        KEEP=1     keep the temporary directory
#        TMPDIR     where the files go (needs 2 x SIZE_MIB free)
#        WORKDIR    use (and keep) this directory; files already there of
#                   the right size are reused, not regenerated
#        REFCMP     a refcmp binary to time (default: built from this tree),
#                   e.g. one built from an older commit, for before/after
#        RUNS       runs of every timed command; the best is reported
#                   (default 3: the machine may be shared)
#        SKIP_NUMPY=1  time only the read pass and refcmp
#        SKIP_FAILING=1  time refcmp only on the passing check (--check
#                   cosine), not on the failing pair with its diagnosis
#
# ours = ref + noise of 2e-7 relative (within the F32 tolerance) with one
# element in 100000 pushed out of tolerance, so the pair fails and refcmp
# also runs its diagnosis (hints); a second refcmp run with --check cosine
# passes and times the fused comparison pass alone. The page cache is warmed first
# (one untimed `cat`), so every timing reads from memory. OPENBLAS_CORETYPE
# and OPENBLAS_L2_SIZE are unset for the numpy command only (they slow a
# current numpy; see the environment notes). Prints wall-clock seconds, GB/s
# of input (both files, 1 GB = 1e9 bytes), refcmp's peak RSS and the ratios.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SIZE_MIB="${SIZE_MIB:-1024}"
PYTHON="${PYTHON:-/usr/bin/python3}"

RUNS="${RUNS:-3}"
if [ -n "${WORKDIR:-}" ]; then
	WORK="$WORKDIR"
	mkdir -p "$WORK"
	KEEP=1
else
	WORK="$(mktemp -d "${TMPDIR:-/tmp}/refcmp-bench.XXXXXX")"
fi
cleanup() { if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

A="$WORK/ref.npy"
B="$WORK/ours.npy"

WANT_BYTES=$((SIZE_MIB * 1048576 + 128))
if [ -f "$A" ] && [ -f "$B" ] && [ "$(stat -c %s "$A")" = "$WANT_BYTES" ] && [ "$(stat -c %s "$B")" = "$WANT_BYTES" ]; then
	echo "== reusing the two ${SIZE_MIB} MiB F32 .npy files in $WORK"
else
echo "== generating two ${SIZE_MIB} MiB F32 .npy files in $WORK"
"$PYTHON" - "$A" "$B" "$SIZE_MIB" <<'EOF'
import sys
import numpy as np
a_path, b_path, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = mib * (1 << 20) // 4
a = np.lib.format.open_memmap(a_path, mode="w+", dtype=np.float32, shape=(n,))
b = np.lib.format.open_memmap(b_path, mode="w+", dtype=np.float32, shape=(n,))
rng = np.random.default_rng(12345)
step = 1 << 23
for s in range(0, n, step):
    e = min(n, s + step)
    x = rng.standard_normal(e - s, dtype=np.float32)
    a[s:e] = x
    y = x * (1 + np.float32(2e-7) * rng.standard_normal(e - s, dtype=np.float32))
    bad = rng.integers(0, e - s, size=max(1, (e - s) // 100000))
    y[bad] += np.float32(1e-2)
    b[s:e] = y
a.flush()
b.flush()
EOF
fi
BYTES=$(( $(stat -c %s "$A") + $(stat -c %s "$B") ))

# time_cmd OUTVAR RSSVAR cmd...: wall-clock seconds and peak RSS (KiB) of cmd,
# its stdout going to $OUT (default $WORK/out.json).
# The command's exit status 0 or 1 (differences) is fine; 2 or more fails.
HAVE_TIME=0
if [ -x /usr/bin/time ]; then HAVE_TIME=1; fi
time_cmd() {
	local __t=$1 __m=$2
	shift 2
	local tf="$WORK/time.txt" rc=0
	if [ "$HAVE_TIME" = 1 ]; then
		/usr/bin/time -f '%e %M' -o "$tf" "$@" >"${OUT:-$WORK/out.json}" 2>"$WORK/err.txt" || rc=$?
		# /usr/bin/time prints "Command exited with non-zero status N" first.
		read -r secs rss < <(tail -n 1 "$tf")
	else
		local t0 t1
		t0=$(date +%s.%N)
		"$@" >"${OUT:-$WORK/out.json}" 2>"$WORK/err.txt" &
		local pid=$! peak=0 cur
		while kill -0 "$pid" 2>/dev/null; do
			cur=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
			[ -n "$cur" ] && [ "$cur" -gt "$peak" ] && peak=$cur
			sleep 0.05
		done
		wait "$pid" || rc=$?
		t1=$(date +%s.%N)
		secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
		rss=$peak
	fi
	if [ "$rc" -gt 1 ]; then
		echo "command failed (exit $rc): $*" >&2
		cat "$WORK/err.txt" >&2
		exit 1
	fi
	printf -v "$__t" '%s' "$secs"
	printf -v "$__m" '%s' "$rss"
}

# best_cmd OUTVAR RSSVAR cmd...: time_cmd RUNS times; the least seconds
# (and the largest peak RSS seen).
best_cmd() {
	local __bt=$1 __bm=$2 bt="" bm=0 t m
	shift 2
	for _ in $(seq "$RUNS"); do
		time_cmd t m "$@"
		if [ -z "$bt" ] || awk -v a="$t" -v b="$bt" 'BEGIN { exit !(a < b) }'; then bt=$t; fi
		if [ "$m" -gt "$bm" ]; then bm=$m; fi
	done
	printf -v "$__bt" '%s' "$bt"
	printf -v "$__bm" '%s' "$bm"
}

gbps() { awk -v b="$BYTES" -v s="$1" 'BEGIN { if (s <= 0) s = 0.005; printf "%.2f", b / s / 1e9 }'; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (y <= 0) y = 0.005; if (x <= 0) x = 0.005; printf "%.2f", y / x }'; }

echo "== warming the page cache"
cat "$A" "$B" >/dev/null

echo "== read pass: cat ref ours > /dev/null (best of $RUNS)"
OUT=/dev/null best_cmd T_READ M_READ cat "$A" "$B"

if [ -n "${REFCMP:-}" ]; then
	BIN="$REFCMP"
else
	echo "== building refcmp"
	BIN="$WORK/refcmp"
	(cd "$ROOT" && go build -o "$BIN" ./cmd/refcmp)
fi
T_REF="" M_REF="" T_PASS="" M_PASS=""
if "$BIN" --help 2>&1 | grep -qE '^ +tensors( |$)'; then
	if [ "${SKIP_FAILING:-}" != 1 ]; then
		echo "== refcmp tensors --format json ref.npy ours.npy (best of $RUNS)"
		best_cmd T_REF M_REF "$BIN" tensors --format json "$A" "$B"
		cp "$WORK/out.json" "$WORK/refcmp.json"
	fi
	# The same pass on a pair that passes (cosine check): no diagnosis of a
	# failure, so this is the fused comparison alone.
	echo "== refcmp tensors --format json --check cosine ref.npy ours.npy (best of $RUNS)"
	best_cmd T_PASS M_PASS "$BIN" tensors --format json --check cosine "$A" "$B"
	if [ -z "$T_REF" ]; then cp "$WORK/out.json" "$WORK/refcmp.json"; fi
else
	echo "refcmp has no 'tensors' command yet: skipping it"
fi

T_NP="" M_NP=""
if [ "${SKIP_NUMPY:-}" != 1 ]; then
	echo "== numpy: scripts/numpy_report.py ref.npy ours.npy (OPENBLAS_CORETYPE/L2_SIZE unset; best of $RUNS)"
	best_cmd T_NP M_NP env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PYTHON" "$ROOT/scripts/numpy_report.py" "$A" "$B"
	cp "$WORK/out.json" "$WORK/numpy.json"
fi

echo
echo "== results: $(nproc) cores, input $BYTES bytes ($(awk -v b="$BYTES" 'BEGIN {printf "%.2f", b/1e9}') GB), best of $RUNS runs each, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %9s %9s %12s\n' "" "seconds" "GB/s" "peak RSS MB"
printf '%-22s %9s %9s %12s\n' "read pass (cat)" "$T_READ" "$(gbps "$T_READ")" "-"
if [ -n "$T_REF" ]; then
	printf '%-22s %9s %9s %12s\n' "refcmp tensors" "$T_REF" "$(gbps "$T_REF")" "$(awk -v k="$M_REF" 'BEGIN {printf "%.0f", k/1024}')"
fi
if [ -n "$T_PASS" ]; then
	printf '%-22s %9s %9s %12s\n' "  --check cosine" "$T_PASS" "$(gbps "$T_PASS")" "$(awk -v k="$M_PASS" 'BEGIN {printf "%.0f", k/1024}')"
fi
if [ -n "$T_NP" ]; then
	printf '%-22s %9s %9s %12s\n' "numpy_report.py" "$T_NP" "$(gbps "$T_NP")" "$(awk -v k="$M_NP" 'BEGIN {printf "%.0f", k/1024}')"
fi
echo
if [ -n "$T_PASS" ] && [ -n "$T_NP" ]; then
	echo "refcmp / numpy speed:     ${T_REF:+$(ratio "$T_REF" "$T_NP")x (failing pair, with hints); }$(ratio "$T_PASS" "$T_NP")x (--check cosine)  (target >= 40x)"
fi
if [ -n "$T_PASS" ]; then
	echo "refcmp / read-pass speed: ${T_REF:+$(ratio "$T_REF" "$T_READ") (failing pair, with hints); }$(ratio "$T_PASS" "$T_READ") (--check cosine)  (target >= 0.6)"
fi
if [ -n "$T_PASS" ] && [ -n "$T_NP" ]; then
	"$PYTHON" - "$WORK/refcmp.json" "$WORK/numpy.json" <<'EOF' || true
import json, sys
r = json.load(open(sys.argv[1]))["tensors"][0]
n = json.load(open(sys.argv[2]))["tensors"][0]
for k in ("mismatched", "max_abs_diff", "rmse", "cosine"):
    print("  %-14s refcmp %-24s numpy %s" % (k, r.get(k), n.get(k)))
EOF
fi
