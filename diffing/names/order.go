package names

import (
	"slices"

	"github.com/refcmp/refcmp/tensor"
)

// SortByList sorts xs stably by where their names first stand in list;
// those list leaves out come last, in natural order (tensor.NaturalCompare). It
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
		return tensor.NaturalCompare(name(a), name(b))
	})
	return missing
}
