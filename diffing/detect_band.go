package diffing

import "fmt"

// detectBand reads the last two axes by diagonal offset k = j - i. When
// ref and ours are each masked (zero, -Inf or <= -1e4) on whole diagonals
// k >= k0 and the k0 differ, it is a causal mask offset by their
// difference. Otherwise, when nearly all mismatches lie on one or two
// diagonals, it reports that band.
func detectBand(in *diagInput) []finding {
	b := in.ax.band
	if len(b.n) == 0 || b.rows < 2 || b.cols < 2 {
		return nil
	}
	off := func(i int) int64 { return int64(i) - (b.rows - 1) }
	// The first diagonal from which a side is masked to the end: every
	// diagonal from it on holds finite pairs, none unmasked on that side.
	start := func(live int64) (int64, bool) {
		k0 := int64(len(b.n))
		for i := len(b.n) - 1; i >= 0 && b.n[i] > 0 && int64(i) > live; i-- {
			k0 = int64(i)
		}
		return k0, k0 < int64(len(b.n)) && k0 > 0
	}
	rk, rok := start(b.refLive)
	ok, ook := start(b.oursLive)
	if rok && ook && rk != ok {
		shift := ok - rk
		return []finding{{
			hint: TensorHint{
				Kind:    TensorHintBand,
				Summary: fmt.Sprintf("a causal mask offset by %+d: ref is masked from diagonal j - i = %d, ours from %d", shift, off(int(rk)), off(int(ok))),
				Evidence: fmt.Sprintf("over the last two axes (%d×%d), ref is zero or -Inf on every diagonal k >= %d, ours on every k >= %d; diagonal %d has %d mismatches of %d",
					b.rows, b.cols, off(int(rk)), off(int(ok)), off(int(min(rk, ok))), b.mis[min(rk, ok)], b.n[min(rk, ok)]),
				Look: "the attention mask: tril/triu offset (diagonal argument), j <= i vs j < i, or a position offset in the mask",
			},
			score: 1, band: int(shift),
		}}
	}
	// A causal mask on one side only: the other side holds unmasked
	// values to the last diagonal, and differs from the masked side on
	// nearly every element of the masked diagonals, which hold at least
	// a tenth of the elements.
	// A mask covers a good part of the matrix (a causal one about half):
	// a few masked corner diagonals are zeros of the data (a ReLU).
	_, all := bandCounts(b, 0, int64(len(b.n)))
	wide := func(k0 int64, ok bool) bool {
		_, n := bandCounts(b, k0, int64(len(b.n)))
		return ok && n >= 16 && 10*n >= all
	}
	rwide, owide := wide(rk, rok), wide(ok, ook)
	if rok != ook && rwide != owide && !in.noise {
		k0, side, other := rk, "ref", "ours"
		if ook {
			k0, side, other = ok, "ours", "ref"
		}
		if m, n := bandCounts(b, k0, int64(len(b.n))); 10*m >= 9*n {
			return []finding{{
				hint: TensorHint{
					Kind:    TensorHintBand,
					Summary: fmt.Sprintf("the causal mask is missing in %s: %s is masked from diagonal j - i = %d, %s is not masked", other, side, off(int(k0)), other),
					Evidence: fmt.Sprintf("over the last two axes (%d×%d), %s is zero or masked on every diagonal k >= %d, %s holds unmasked values up to the last diagonal; there %d of %d elements mismatch",
						b.rows, b.cols, side, off(int(k0)), other, m, n),
					Look: "the attention mask: is it built and applied in " + other + " (is_causal, the mask argument, a cache path that skips it)",
				},
				score: 1,
			}}
		}
	}
	// A sliding window: both sides masked below some diagonal, ref and
	// ours from different ones (read on sampled elements, checked on the
	// mismatch counts), next to a causal mask on either side.
	if (rwide || owide) && !in.noise {
		if f, ok := slidingWindow(in, b); ok {
			return []finding{f}
		}
	}
	// Mismatches on a narrow band.
	if in.noise {
		return nil
	}
	var mis, elems int64
	top, second := -1, -1
	for i := range b.n {
		mis += b.mis[i]
		elems += b.n[i]
		if top < 0 || b.mis[i] > b.mis[top] {
			top, second = i, top
		} else if second < 0 || b.mis[i] > b.mis[second] {
			second = i
		}
	}
	if mis < 2 || top < 0 {
		return nil
	}
	inBand, bandN := b.mis[top], b.n[top]
	if second >= 0 && (second == top-1 || second == top+1) {
		inBand += b.mis[second]
		bandN += b.n[second]
	}
	if float64(inBand) < 0.95*float64(mis) || float64(bandN) > 0.25*float64(elems) {
		return nil
	}
	return []finding{{
		hint: TensorHint{
			Kind:    TensorHintBand,
			Summary: fmt.Sprintf("the mismatches lie on the diagonal j - i = %d of the last two axes", off(top)),
			Evidence: fmt.Sprintf("%d of %d mismatches lie on diagonal %d (and its neighbour), which holds %d of %d elements",
				inBand, mis, off(top), bandN, elems),
			Look: "a diagonal mask or band (causal mask offset, sliding window), or the diagonal of a square op",
		},
		score: float64(inBand) / float64(mis), band: int(off(top)),
	}}
}

// bandCounts sums the mismatches and finite pairs of diagonals [lo, hi)
// (indices into b.n).
func bandCounts(b bandSums, lo, hi int64) (mis, n int64) {
	for i := lo; i < hi; i++ {
		mis += b.mis[i]
		n += b.n[i]
	}
	return mis, n
}

// bandWindowSamples is how many elements of each diagonal the sliding
// window check reads per side.
const bandWindowSamples = 8

// slidingWindow finds, per side, the run of leading diagonals (from the
// bottom-left corner) whose sampled elements are all masked. When the
// runs differ, stop short of the main diagonal, and the diagonals masked
// on one side only mismatch on at least 90% of their elements, it is a
// sliding window of another width.
func slidingWindow(in *diagInput, b bandSums) (finding, bool) {
	nd := len(in.ax.shape)
	if nd < 2 || b.rows < 4 || b.cols < 4 || len(b.n) > 2*4096 {
		return finding{}, false
	}
	mats := in.res.Numel / (b.rows * b.cols)
	run := func(r *elemReader) int64 {
		for i := range int64(len(b.n)) {
			k := i - (b.rows - 1)                       // j - i
			r0, r1 := max(0, -k), min(b.rows, b.cols-k) // rows on the diagonal
			cnt := min(r1-r0, bandWindowSamples)
			all := true
			for s := int64(0); s < cnt && all; s++ {
				row := r0 + s*(r1-r0)/cnt
				mat := (s*7 + i) % mats
				v := r.get(mat*b.rows*b.cols + row*b.cols + row + k)
				all = v-v == 0 && masked(v)
			}
			if !all {
				return i
			}
		}
		return int64(len(b.n))
	}
	rm, om := run(in.rr), run(in.or)
	diag := b.rows - 1
	if rm == om || rm >= diag || om >= diag || in.rr.err != nil || in.or.err != nil {
		return finding{}, false
	}
	lo, hi := min(rm, om), max(rm, om)
	m, n := bandCounts(b, lo, hi)
	if n == 0 || 10*m < 9*n {
		return finding{}, false
	}
	off := func(i int64) int64 { return i - diag }
	// masked on j - i <= -w: a window of w keys (i-w+1..i)
	width := func(run int64) string {
		if run == 0 {
			return "no window"
		}
		return fmt.Sprintf("window %d", -off(run-1))
	}
	mask := func(run int64) string {
		if run == 0 {
			return "is not masked below the diagonal"
		}
		return fmt.Sprintf("is masked on j - i <= %d", off(run-1))
	}
	return finding{
		hint: TensorHint{
			Kind:    TensorHintBand,
			Summary: fmt.Sprintf("a sliding-window mask of another width: ref %s (%s), ours %s (%s)", mask(rm), width(rm), mask(om), width(om)),
			Evidence: fmt.Sprintf("over the last two axes (%d×%d), on %d sampled elements per diagonal; diagonals %d..%d, masked on one side only, have %d mismatches of %d elements",
				b.rows, b.cols, bandWindowSamples, off(lo), off(hi-1), m, n),
			Look: "the sliding window (local attention) size and its off-by-one (j - i < -w vs <= -w), or a window not applied on one side",
		},
		score: float64(m) / float64(n), band: int(hi - lo),
	}, true
}
