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
