package names

import "sort"

// Closest returns up to n of candidates nearest to name by edit distance
// (insertions, deletions, substitutions of bytes), nearest first (ties
// in candidates' order), for a "did you mean": only candidates within a
// third of name's length (at least 2, 1 for a name of 3 bytes, at most
// 8 edits) count, and none
// for a name of fewer than 3 bytes. The work is
// bounded: a banded distance of at most 8 diagonals, candidates more
// than the bound longer or shorter are skipped without work, and past
// a budget of cells the search stops with what it found.
func Closest(name string, candidates []string, n int) []string {
	if len(name) < 3 {
		return nil // every short name is close to every other
	}
	limit := min(max(2, len(name)/3), 8)
	if len(name) == 3 {
		limit = 1
	}
	budget := 20_000_000
	type hit struct {
		d, i int
	}
	var hits []hit
	for i, c := range candidates {
		if c == name || abs(len(c)-len(name)) > limit {
			continue
		}
		cells := (len(name) + 1) * (2*limit + 1)
		if budget -= cells; budget < 0 {
			break
		}
		if d, ok := EditDistance(name, c, limit); ok {
			hits = append(hits, hit{d, i})
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].d < hits[b].d })
	var out []string
	for _, h := range hits {
		if len(out) == n {
			break
		}
		out = append(out, candidates[h.i])
	}
	return out
}

// EditDistance is the character edit distance (Levenshtein) of a and b
// when it is at most k, computed on the band |i-j| <= k only, after
// setting their common prefix and suffix aside; ok is false when the
// distance is over k. k = max(len(a), len(b)) gives the exact distance.
func EditDistance(a, b string, k int) (d int, ok bool) {
	for len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		a, b = a[1:], b[1:]
	}
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] == b[len(b)-1] {
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	big := k + 1
	prev := make([]int, len(b)+2)
	cur := make([]int, len(b)+2)
	for j := range prev {
		prev[j] = min(j, big)
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-k), min(len(b), i+k)
		// Outside the band counts as more than k.
		cur[lo-1] = big
		if lo == 1 {
			cur[0] = min(i, big)
		}
		cur[hi+1] = big
		rowMin := big
		if lo == 1 {
			rowMin = cur[0]
		}
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j-1]+cost, prev[j]+1, cur[j-1]+1, big)
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > k {
			return 0, false
		}
		prev, cur = cur, prev
	}
	return prev[len(b)], prev[len(b)] <= k
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
