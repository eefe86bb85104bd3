package names

import (
	"slices"
	"strings"
)

// NaturalLess orders names naturally: runs of digits compare as numbers,
// so "layers.2.mlp" sorts before "layers.10.mlp". Ties (e.g. "a01" and
// "a1") fall back to plain byte order, so the order is total.
func NaturalLess(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na := strings.TrimLeft(a[si:i], "0")
			nb := strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			continue
		}
		if ca != cb {
			return ca < cb
		}
		i++
		j++
	}
	if rest := (len(a) - i) - (len(b) - j); rest != 0 {
		return rest < 0
	}
	return a < b
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Compare orders names as NaturalLess does (layers.2 before layers.10),
// then bytewise: a comparison function for slices.SortFunc.
func Compare(a, b string) int {
	switch {
	case NaturalLess(a, b):
		return -1
	case NaturalLess(b, a):
		return 1
	}
	return strings.Compare(a, b)
}

// SortByList sorts xs stably by where their names first stand in list;
// those list leaves out come last, in natural order (Compare). It
// returns how many it leaves out.
func SortByList[T any](xs []T, name func(T) string, list []string) (missing int) {
	pos := map[string]int{}
	for i, n := range list {
		if _, dup := pos[n]; !dup {
			pos[n] = i
		}
	}
	for _, x := range xs {
		if _, ok := pos[name(x)]; !ok {
			missing++
		}
	}
	slices.SortStableFunc(xs, func(a, b T) int {
		pa, oka := pos[name(a)]
		pb, okb := pos[name(b)]
		switch {
		case oka && okb:
			return pa - pb
		case oka:
			return -1
		case okb:
			return 1
		}
		return Compare(name(a), name(b))
	})
	return missing
}
