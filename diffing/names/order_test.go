package names

import (
	"slices"
	"testing"
)

func TestSortByList(t *testing.T) {
	xs := []string{"layers.10", "z", "b", "layers.2", "a", "b"}
	missing := SortByList(xs, func(s string) string { return s }, []string{"b", "a", "b", "gone"})
	want := []string{"b", "b", "a", "layers.2", "layers.10", "z"}
	if !slices.Equal(xs, want) || missing != 3 {
		t.Errorf("got %q, %d missing; want %q, 3 missing", xs, missing, want)
	}
}
